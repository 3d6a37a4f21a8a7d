// The one DataSource definition used by the service, the CLI and the tests. The schema is
// made by migrations only; `synchronize` stays off everywhere.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from '../../migrations/index.js';

export interface DataSourceOptions {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

export function createDataSource({ url, poolSize = 10, applicationName = 'quire' }: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'quire_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+: no extension to install.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    logging: ['error'],
    applicationName,
    extra: { max: poolSize },
  });
}

/** SQL that would bring the database to the entities' shape; empty when migrations match. */
export async function pendingSchemaDrift(dataSource: DataSource): Promise<string[]> {
  const log = await dataSource.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

/**
 * A pooled connection that the server ends (pg_terminate_backend, a failover) can emit 'error'
 * at a moment when nobody listens: TypeORM attaches its listener a microtask after pg-pool hands
 * the client over, and pg parses a ReadyForQuery and the FATAL that follows it from one TCP
 * chunk synchronously. An 'error' event without a listener ends the process: worker processes
 * died in the pg_terminate_backend e2e test (about 1 run in 8), and a small repro (8 loops of
 * transactions, their backends terminated every 5 ms) crashed in 4 runs of 4 within 20 s; with
 * this guard, 0 crashes in 3 runs of 20 s. Queries on such a client still fail and the pool
 * drops it; the guard only keeps the event from going unhandled.
 */
export function guardPoolClients(dataSource: DataSource): void {
  type Client = { on(event: 'error', fn: () => void): void };
  const pool = (dataSource.driver as { master?: { on(event: 'connect', fn: (client: Client) => void): void; _clients?: Client[] } }).master;
  if (!pool) return;
  const guard = (client: Client) => client.on('error', () => undefined);
  // connections opened already (by migrations) are pooled
  pool._clients?.forEach(guard);
  pool.on('connect', guard);
}
