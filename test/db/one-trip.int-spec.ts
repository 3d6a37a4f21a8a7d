// Values inlined for a one-round-trip batch reach PostgreSQL as exactly the values given.
import pg from 'pg';
import { oneTrip } from '../../src/db/one-trip.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('oneTrip on PostgreSQL', () => {
  let database: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('sends several statements at once and returns the rows of each; hostile text stays text', async () => {
    const hostile = [`'); DROP TABLE quire_migrations; --`, `\\'; SELECT 1; --`, `$1 $$ $tag$`, `E'\\x00'`, `ünï ✓\n\t"`];
    const payload = { chunk: hostile.join(' '), n: 1.5 };
    const results = await oneTrip(client, [
      'BEGIN',
      { text: 'SELECT unnest($1::text[]) AS v', values: [hostile] },
      { text: 'SELECT $1::jsonb AS j, $2::int AS n, $3::text AS nothing', values: [JSON.stringify(payload), 42, null] },
      'COMMIT',
    ]);
    expect(results).toHaveLength(4);
    expect((results[1] as { v: string }[]).map((r) => r.v)).toEqual(hostile);
    expect(results[2]).toEqual([{ j: payload, n: 42, nothing: null }]);
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'quire_migrations'`);
    expect(rows[0].n).toBe(1);
  });
});
