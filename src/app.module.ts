import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { ConfigModule } from './config/config.module.js';
import type { QuireConfig } from './config/config.js';
import { InventoryService } from './inventory/inventory.service.js';
import { BooksService } from './books/books.service.js';
import { JobsService } from './jobs/jobs.service.js';
import { EventsService } from './events/events.service.js';
import { TokensService } from './api/tokens.service.js';
import { AuthGuard } from './api/auth.guard.js';
import { ErrorFilter } from './api/error.filter.js';
import { HealthController } from './api/health.controller.js';
import { BooksController } from './api/books.controller.js';
import { ActionsController } from './api/actions.controller.js';
import { JobsController } from './api/jobs.controller.js';
import { InventoryController } from './api/inventory.controller.js';
import { PortalController } from './portal/portal.controller.js';
import { MetricsController } from './api/metrics.controller.js';
import { EngineService, ENGINE_ENABLED } from './engine/engine.service.js';
import { JobStore } from './engine/job-store.js';
import { EventsGateway } from './events/events.gateway.js';
import { PUBSUB } from './db/pubsub.provider.js';
import type { PubSub } from './db/pubsub.js';
import { SchedulesService } from './scheduler/schedules.service.js';
import { SchedulerService, SCHEDULER_ENABLED } from './scheduler/scheduler.service.js';
import { SchedulesController } from './api/schedules.controller.js';

/** The opened database, shared by every module. */
@Global()
@Module({})
class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return { module: DatabaseModule, providers: [{ provide: DataSource, useValue: dataSource }], exports: [DataSource] };
  }
}

export interface AppOptions {
  pubsub: PubSub;
  /** run a worker on this node (`quire serve` and `quire worker` do) */
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
      controllers: [HealthController, BooksController, ActionsController, JobsController, InventoryController, MetricsController, PortalController, SchedulesController],
      providers: [
        InventoryService,
        BooksService,
        JobsService,
        EventsService,
        TokensService,
        EngineService,
        EventsGateway,
        SchedulesService,
        SchedulerService,
        { provide: SCHEDULER_ENABLED, useValue: options.scheduler ?? false },
        { provide: JobStore, useFactory: (ds: DataSource, events: EventsService) => new JobStore(ds, events), inject: [DataSource, EventsService] },
        { provide: PUBSUB, useValue: options.pubsub },
        { provide: ENGINE_ENABLED, useValue: options.engine },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
      ],
    };
  }
}
