// Boots `quire worker`: the engine alone, no HTTP. It imports none of server.ts's modules
// (express, socket.io, swagger, the controllers): a worker process stays small.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { QuireConfig } from './config/config.js';
import { openDatabase } from './db/database.js';
import { openPubSub, useLogger } from './node-setup.js';
import { WorkerModule } from './worker.module.js';

export async function startWorker(config: QuireConfig): Promise<{ close(): Promise<void> }> {
  const appLogger = useLogger(config);
  const database = await openDatabase(config);
  const pubsub = await openPubSub(database);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, database.dataSource, pubsub), {
    logger: appLogger,
  });
  await app.init();
  return {
    async close() {
      await app.close();
      await pubsub.close();
      await database.close();
    },
  };
}
