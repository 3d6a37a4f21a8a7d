import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigModule } from './config/config.module.js';
import type { QuireConfig } from './config/config.js';
import { DatabaseModule } from './db/database.module.js';
import type { PubSub } from './db/pubsub.js';
import { engineProviders } from './engine/engine.providers.js';
import { InventoryService } from './inventory/inventory.service.js';
import { BooksService } from './books/books.service.js';
import { JobsService } from './jobs/jobs.service.js';

// `quire worker`: what AppModule runs minus what only serves clients (controllers, guards, the
// socket.io gateway, tokens, schedules). A worker never answers HTTP.
@Module({})
export class WorkerModule {
  static forRoot(config: QuireConfig, dataSource: DataSource, pubsub: PubSub): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(dataSource)],
      providers: [InventoryService, BooksService, JobsService, ...engineProviders(pubsub, true)],
    };
  }
}
