// Real PostgreSQL for integration tests (STYLE.md habit 9): the migrations run once into a
// template database, and each test file gets its own clone of it.
import pg from 'pg';
import { createHash, randomBytes } from 'node:crypto';
import { createDataSource } from '../../src/db/data-source.js';
import { runMigrations } from '../../src/db/database.js';
import { MIGRATIONS } from '../../migrations/index.js';

// Set by the run's global setup (a throwaway server) unless the developer or CI set it.
export const ADMIN_URL = process.env.QUIRE_TEST_PGURL ?? 'postgres://postgres@127.0.0.1:5432';
const LOCK = 7_140_099;

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlFor('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fingerprint of the migrations' code: the template is rebuilt whenever they change. */
const FINGERPRINT = createHash('sha256')
  .update(MIGRATIONS.map((m) => `${m.name}:${m.prototype.up.toString()}`).join('\n'))
  .digest('hex')
  .slice(0, 16);
// One template per migration set, so checkouts with different migrations (worktrees, branches)
// testing on one server at once never rebuild each other's template.
const TEMPLATE = `quire_test_template_${FINGERPRINT}`;

async function ensureTemplate(admin: pg.Client): Promise<void> {
  const found = await admin.query(`SELECT shobj_description(oid, 'pg_database') AS fingerprint FROM pg_database WHERE datname = $1`, [TEMPLATE]);
  if (found.rowCount === 1) {
    if (found.rows[0].fingerprint === FINGERPRINT) return;
    await admin.query(`DROP DATABASE ${TEMPLATE} WITH (FORCE)`);
  }
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  const dataSource = createDataSource({ url: urlFor(TEMPLATE), poolSize: 2 });
  await dataSource.initialize();
  try {
    await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
  await admin.query(`COMMENT ON DATABASE ${TEMPLATE} IS '${FINGERPRINT}'`);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `quire_test_${randomBytes(5).toString('hex')}`;
  await withAdmin(async (admin) => {
    // Test files run in parallel workers; one of them builds the template.
    await admin.query('SELECT pg_advisory_lock($1)', [LOCK]);
    try {
      await ensureTemplate(admin);
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [LOCK]);
    }
  });
  return {
    name,
    url: urlFor(name),
    drop: () => withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
