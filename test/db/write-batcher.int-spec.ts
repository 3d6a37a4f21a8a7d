// The engine's one-statement writes share round trips and commits when they meet in flight
// (src/db/write-batcher.ts), and sharing changes nothing else: each answers its own rows, an
// error fails only the write it belongs to, and hostile values stay values.
import pg from 'pg';
import { WriteBatcher } from '../../src/db/write-batcher.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('WriteBatcher on PostgreSQL', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let probe: pg.Client;
  const INSERT = `INSERT INTO batched (job, note) VALUES ($1, $2) RETURNING id, job, note`;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    probe = new pg.Client({ connectionString: database.url });
    await probe.connect();
    await probe.query(`CREATE TABLE batched (id serial PRIMARY KEY, job int NOT NULL CHECK (job > 0), note text)`);
  });
  afterAll(async () => {
    await probe?.end();
    await pool?.end();
    await database?.drop();
  });

  it('sends a write at once, and the writes that arrive meanwhile together, in one round trip and one commit', async () => {
    const batcher = new WriteBatcher(pool, 1);
    await batcher.run('insert_batched', INSERT, [1, 'warm']); // prepares the statement on a connection
    const sent: string[] = [];
    const spy = (text: string) => sent.push(text);
    const connect = pool.connect.bind(pool);
    const counting = {
      connect: async () => {
        const client = await connect();
        const query = client.query.bind(client) as (text: string) => Promise<unknown>;
        return Object.assign(Object.create(client), { query: (text: string) => (spy(text), query(text)), release: client.release.bind(client) });
      },
    };
    const counted = new WriteBatcher(counting, 1);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((job) => counted.run<{ job: number; note: string }>('insert_batched', INSERT, [job, `job ${job}`])));
    expect(answers.map((rows) => rows.map((r) => [r.job, r.note]))).toEqual([1, 2, 3, 4, 5].map((job) => [[job, `job ${job}`]]));
    // The first alone (nothing was in flight), the other four in one message; PREPAREs aside.
    const executes = sent.filter((text) => text.startsWith('EXECUTE'));
    expect(executes).toHaveLength(2);
    expect(executes[1]!.split(';\n')).toHaveLength(4);
    // Two transactions: the rows a transaction wrote share its id (xmin).
    const { rows } = await probe.query(`SELECT job, xmin::text AS tx FROM batched WHERE job BETWEEN 1 AND 5 AND note LIKE 'job %' ORDER BY job`);
    expect(rows.map((r) => r.job)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(rows.slice(1).map((r) => r.tx)).size).toBe(1);
    expect(rows[0].tx).not.toBe(rows[1].tx);
  });

  it('fails only the write whose statement fails; the others of its batch commit', async () => {
    const batcher = new WriteBatcher(pool, 1);
    const first = batcher.run('insert_batched', INSERT, [10, 'first']);
    const batch = [11, -1, 12].map((job) => batcher.run<{ job: number }>('insert_batched', INSERT, [job, `job ${job}`]));
    await expect(first).resolves.toHaveLength(1);
    const [good1, bad, good2] = await Promise.allSettled(batch);
    expect(good1).toMatchObject({ status: 'fulfilled', value: [{ job: 11 }] });
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: '23514' } }); // the CHECK
    expect(good2).toMatchObject({ status: 'fulfilled', value: [{ job: 12 }] });
    const { rows } = await probe.query(`SELECT job FROM batched WHERE job BETWEEN -1 AND 12 AND job >= 10 OR job = -1 ORDER BY job`);
    expect(rows.map((r) => r.job)).toEqual([10, 11, 12]);
  });

  it('keeps hostile text a value', async () => {
    const batcher = new WriteBatcher(pool, 1);
    const hostile = [`'); DROP TABLE batched; --`, `\\'; SELECT 1; --`, `$1 $$ $tag$`, `ünï ✓\n\t"`, `EXECUTE quire_insert_batched(1, 'x')`];
    const answers = await Promise.all(hostile.map((note, i) => batcher.run<{ note: string }>('insert_batched', INSERT, [100 + i, note])));
    expect(answers.map((rows) => rows[0]!.note)).toEqual(hostile);
    const { rows } = await probe.query(`SELECT count(*)::int AS n FROM batched WHERE job >= 100`);
    expect(rows[0].n).toBe(hostile.length);
  });
});
