// Opening the database: PostgreSQL from DATABASE_URL, or the embedded default; migrations
// run under an advisory lock so several nodes starting together migrate once.
import type { DataSource } from 'typeorm';
import type { QuireConfig } from '../config/config.js';
import { createDataSource } from './data-source.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { join } from 'node:path';

export interface Database {
  dataSource: DataSource;
  url: string;
  /** true on the embedded PGlite: single node, no LISTEN/NOTIFY between connections */
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
  config: Pick<QuireConfig, 'databaseUrl' | 'dataDir'>,
  options: { migrate?: boolean; poolSize?: number; applicationName?: string } = {},
): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(join(config.dataDir));
  const url = config.databaseUrl ?? embedded!.url;
  const dataSource = createDataSource({
    url,
    poolSize: options.poolSize ?? (embedded ? 4 : 10),
    applicationName: options.applicationName,
  });
  try {
    await dataSource.initialize();
    if (options.migrate !== false) await runMigrations(dataSource);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    url,
    embedded: !!embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
