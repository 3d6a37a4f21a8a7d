// Statements of the engine's hot path, sent on a TypeORM transaction's own pg connection as
// named (prepared) statements: PostgreSQL parses and plans each once per connection instead of
// on every call, and TypeORM's query wrapper is skipped. Measured with 8 concurrent
// transactions of 6 updates on the 2-core dev box: 987 against 640 transactions/s unnamed (issue 9).
// Only for statements whose result columns are listed: a prepared `SELECT *` fails with "cached
// plan must not change result type" once a migration adds a column under a running node.
// The engine's autocommitted one-statement writes are PREPAREd in SQL and EXECUTEd in batches
// instead (write-batcher.ts), as is the claim (JobStore.claim): both through `prepareOnce`.
import type { DataSource, EntityManager, EntityTarget } from 'typeorm';

interface PgClient {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

export async function prepared<R>(manager: EntityManager, name: string, text: string, values: unknown[]): Promise<R[]> {
  const client = (manager.queryRunner as unknown as { databaseConnection?: PgClient } | undefined)?.databaseConnection;
  // Outside a transaction (no connection of its own) it runs as a plain query.
  if (!client) return (await manager.query(text, values)) as R[];
  const { rows } = await client.query<R>({ name: `quire_${name}`, text, values });
  return rows;
}

/** The PREPARE statements each pooled connection ran (see prepareOnce). */
const preparedOn = new WeakMap<object, Set<string>>();

/**
 * Runs each PREPARE statement on `client` unless this connection already did: a session's
 * prepared statements outlive its transactions, and a connection that is replaced starts
 * without them.
 */
export async function prepareOnce(client: { query(text: string): Promise<unknown> }, statements: string[]): Promise<void> {
  const done = preparedOn.get(client) ?? new Set<string>();
  preparedOn.set(client, done);
  for (const text of statements) {
    if (done.has(text)) continue;
    await client.query(text).catch((error: { code?: string }) => {
      if (error.code !== '42P05') throw error; // already prepared (by an attempt whose answer was lost)
    });
    done.add(text);
  }
}

const columnLists = new WeakMap<DataSource, Map<unknown, string[]>>();

/** An entity's columns as `alias."name"`, for the listed results a prepared statement needs. */
export function columnsOf(dataSource: DataSource, entity: EntityTarget<unknown>, alias: string): string {
  let lists = columnLists.get(dataSource);
  if (!lists) columnLists.set(dataSource, (lists = new Map()));
  let names = lists.get(entity);
  if (!names) lists.set(entity, (names = dataSource.getMetadata(entity).columns.map((c) => c.databaseName)));
  return names.map((n) => `${alias}."${n}"`).join(', ');
}
