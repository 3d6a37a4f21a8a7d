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
    // gen_random_uuid() is built into PostgreSQL 13+ and PGlite: no extension to install.
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
