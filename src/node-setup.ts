// What `quire serve` (server.ts) and `quire worker` (worker-node.ts) both do before Nest starts.
import { Logger } from '@nestjs/common';
import type { QuireConfig } from './config/config.js';
import type { Database } from './db/database.js';
import { PostgresPubSub, type PubSub } from './db/pubsub.js';
import { createLogger } from './observability/logger.js';

/** The process's logger (QUIRE_LOG_FORMAT, QUIRE_LOG_LEVEL), also for lines logged before Nest starts. */
export function useLogger(config: QuireConfig) {
  const logger = createLogger(config);
  Logger.overrideLogger(logger);
  return logger;
}

// LISTEN/NOTIFY in every mode: the embedded default is a real PostgreSQL too, shared by the
// local nodes that use its data directory.
export async function openPubSub(database: Database): Promise<PubSub> {
  const pubsub = new PostgresPubSub(database.url, database.dataSource);
  await pubsub.start();
  return pubsub;
}
