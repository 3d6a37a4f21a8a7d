// Opening the database: PostgreSQL from DATABASE_URL, or the embedded default; migrations
// run under an advisory lock so several nodes starting together migrate once.
import type { DataSource } from 'typeorm';
import type { QuireConfig } from '../config/config.js';
import { createDataSource, guardPoolClients } from './data-source.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { Logger } from '@nestjs/common';

export interface Database {
  /** apply pending migrations, under the cross-node lock */
  migrate(): Promise<string[]>;
  dataSource: DataSource;
  url: string;
  /** true on the embedded default (a PostgreSQL under the data directory, shared by local nodes) */
  embedded: boolean;
  close(): Promise<void>;
}

// Any constant works; it only has to be the same on every node.
const MIGRATION_LOCK = 7_140_021;

export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

export async function openDatabase(
  config: Pick<QuireConfig, 'databaseUrl' | 'dataDir'> & Partial<Pick<QuireConfig, 'logLevel'>>,
  options: { migrate?: boolean; poolSize?: number; applicationName?: string } = {},
): Promise<Database> {
  const logger = new Logger('Database');
  // Nest's log level is set only once the app exists: honour QUIRE_LOG_LEVEL here by hand.
  const quiet = config.logLevel === 'error' || config.logLevel === 'warn';
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, { log: (m) => quiet || logger.log(m) });
  const url = config.databaseUrl ?? embedded!.url;
  // The embedded server is a real PostgreSQL: same pool, same migration lock as production,
  // since other local nodes may share it.
  const dataSource = createDataSource({ url, poolSize: options.poolSize ?? 10, applicationName: options.applicationName });
  try {
    await dataSource.initialize();
    guardPoolClients(dataSource);
    if (options.migrate !== false) await runMigrations(dataSource);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    migrate: () => runMigrations(dataSource),
    dataSource,
    url,
    embedded: !!embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
