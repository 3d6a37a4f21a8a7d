// Opening the database: PostgreSQL from DATABASE_URL, or the embedded default; migrations
// run under an advisory lock so several nodes starting together migrate once.
import type { DataSource } from 'typeorm';
import type { QuireConfig } from '../config/config.js';
import { createDataSource, guardPoolClients } from './data-source.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { join } from 'node:path';

export interface Database {
  /** apply pending migrations, under the cross-node lock where there can be other nodes */
  migrate(): Promise<string[]>;
  dataSource: DataSource;
  url: string;
  /** true on the embedded PGlite: single node, no LISTEN/NOTIFY between connections */
  embedded: boolean;
  close(): Promise<void>;
}

// Any constant works; it only has to be the same on every node.
const MIGRATION_LOCK = 7_140_021;

export async function runMigrations(dataSource: DataSource, { lock = true }: { lock?: boolean } = {}): Promise<string[]> {
  if (!lock) return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
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
    // One connection on PGlite: its socket server multiplexes connections onto one session, and
    // concurrent extended-protocol queries from several connections were seen to get each
    // other's results (a trigger answered 'no book implements' under 10 concurrent requests).
    // So nothing may query outside a transaction while inside one: it would wait forever.
    poolSize: options.poolSize ?? (embedded ? 1 : 10),
    applicationName: options.applicationName,
  });
  try {
    await dataSource.initialize();
    guardPoolClients(dataSource);
    // The embedded database has one owner process (and one connection): no lock to take.
    if (options.migrate !== false) await runMigrations(dataSource, { lock: !embedded });
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    migrate: () => runMigrations(dataSource, { lock: !embedded }),
    dataSource,
    url,
    embedded: !!embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
