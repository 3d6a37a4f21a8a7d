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
    pool.on('error', () => undefined); // a terminated backend's idle connection
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
        return Object.assign(Object.create(client), {
          query: (text: string) => (spy(text), query(text)),
          release: client.release.bind(client),
        });
      },
    };
    const counted = new WriteBatcher(counting, 1);
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((job) => counted.run<{ job: number; note: string }>('insert_batched', INSERT, [job, `job ${job}`])),
    );
    expect(answers.map((rows) => rows.map((r) => [r.job, r.note]))).toEqual([1, 2, 3, 4, 5].map((job) => [[job, `job ${job}`]]));
    // The first alone (nothing was in flight), the other four in one message; PREPAREs aside.
    const executes = sent.filter((text) => text.startsWith('EXECUTE'));
    expect(executes).toHaveLength(2);
    expect(executes[1]!.split(';\n')).toHaveLength(4);
    // Two transactions: the rows a transaction wrote share its id (xmin).
    const { rows } = await probe.query(
      `SELECT job, xmin::text AS tx FROM batched WHERE job BETWEEN 1 AND 5 AND note LIKE 'job %' ORDER BY job`,
    );
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

  it('reruns alone the writes of a batch whose backend was terminated before it committed, each once', async () => {
    const batcher = new WriteBatcher(pool, 1);
    await probe.query('CREATE UNIQUE INDEX batched_job_200 ON batched (job) WHERE job >= 200');
    await batcher.run('insert_batched', INSERT, [200, 'warm']);
    // The writes of jobs 201 and 202 wait for this uncommitted insert of the same jobs, and the
    // backend of each of their round trips is terminated in turn while it waits.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`INSERT INTO batched (job, note) VALUES (201, 'held'), (202, 'held')`);
    const waiting = async (like: string, not?: number) => {
      for (let i = 0; i < 300; i++) {
        const { rows } = await probe.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE $1 AND wait_event_type = 'Lock' AND pid IS DISTINCT FROM $2`,
          [like, not ?? null],
        );
        if (rows[0]) return rows[0].pid as number;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no round trip like ${like} is waiting`);
    };
    const alone = batcher.run('insert_batched', INSERT, [201, 'alone']);
    const batch = [202, 203].map((job) => batcher.run<{ job: number }>('insert_batched', INSERT, [job, `job ${job}`]));
    await probe.query('SELECT pg_terminate_backend($1)', [await waiting(`EXECUTE quire_insert_batched('201'%`)]);
    await expect(alone).rejects.toMatchObject({ code: '57P01' }); // alone, it fails as it always did
    const batchPid = await waiting(`EXECUTE quire_insert_batched('202'%;%'203'%`);
    await probe.query('SELECT pg_terminate_backend($1)', [batchPid]);
    await waiting(`EXECUTE quire_insert_batched('202'%`, batchPid); // rerun alone, waiting again
    await holder.query('ROLLBACK');
    await holder.end();
    await expect(Promise.all(batch)).resolves.toEqual([[expect.objectContaining({ job: 202 })], [expect.objectContaining({ job: 203 })]]);
    const { rows } = await probe.query(
      `SELECT job, count(*)::int AS n FROM batched WHERE job BETWEEN 201 AND 203 GROUP BY job ORDER BY job`,
    );
    expect(rows).toEqual([
      { job: 202, n: 1 },
      { job: 203, n: 1 },
    ]);
  });

  it('keeps hostile text a value', async () => {
    const batcher = new WriteBatcher(pool, 1);
    const hostile = [
      `'); DROP TABLE batched; --`,
      `\\'; SELECT 1; --`,
      `$1 $$ $tag$`,
      `ünï ✓\n\t"`,
      `EXECUTE quire_insert_batched(1, 'x')`,
    ];
    const answers = await Promise.all(hostile.map((note, i) => batcher.run<{ note: string }>('insert_batched', INSERT, [100 + i, note])));
    expect(answers.map((rows) => rows[0]!.note)).toEqual(hostile);
    const { rows } = await probe.query(`SELECT count(*)::int AS n FROM batched WHERE job BETWEEN 100 AND 199`);
    expect(rows[0].n).toBe(hostile.length);
  });
});
