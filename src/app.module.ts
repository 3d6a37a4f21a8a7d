import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { ConfigModule } from './config/config.module.js';
import type { QuireConfig } from './config/config.js';
import { InventoryService } from './inventory/inventory.service.js';
import { BooksService } from './books/books.service.js';
import { JobsService } from './jobs/jobs.service.js';
import { TokensService } from './auth/tokens.service.js';
import { AuthGuard } from './api/auth.guard.js';
import { ErrorFilter } from './api/error.filter.js';
import { InputSafetyInterceptor } from './api/input-safety.interceptor.js';
import { HealthController } from './api/health.controller.js';
import { BooksController } from './api/books.controller.js';
import { ActionsController } from './api/actions.controller.js';
import { JobsController } from './api/jobs.controller.js';
import { InventoryController } from './api/inventory.controller.js';
import { PortalController } from './portal/portal.controller.js';
import { MetricsController } from './api/metrics.controller.js';
import { EventsGateway } from './events/events.gateway.js';
import type { PubSub } from './db/pubsub.js';
import { SchedulesService } from './scheduler/schedules.service.js';
import { SchedulerService, SCHEDULER_ENABLED } from './scheduler/scheduler.service.js';
import { SchedulesController } from './api/schedules.controller.js';
import { TokensController } from './api/tokens.controller.js';
import { FleetController } from './api/fleet.controller.js';
import { FleetService } from './inventory/fleet.service.js';
import { DatabaseModule } from './db/database.module.js';
import { engineProviders } from './engine/engine.providers.js';

export interface AppOptions {
  pubsub: PubSub;
  /** run a worker on this node (`quire serve` unless QUIRE_ENGINE=off; `quire worker` is WorkerModule) */
  engine: boolean;
  /** fire schedules on this node (`quire serve` does; `quire worker` does not) */
  scheduler?: boolean;
}

@Module({})
export class AppModule {
  static forRoot(config: QuireConfig, dataSource: DataSource, options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(dataSource)],
      controllers: [HealthController, BooksController, ActionsController, JobsController, InventoryController, MetricsController, PortalController, SchedulesController, TokensController, FleetController],
      providers: [
        InventoryService,
        FleetService,
        BooksService,
        JobsService,
        ...engineProviders(options.pubsub, options.engine),
        TokensService,
        EventsGateway,
        SchedulesService,
        SchedulerService,
        { provide: SCHEDULER_ENABLED, useValue: options.scheduler ?? false },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: InputSafetyInterceptor },
      ],
    };
  }
}
