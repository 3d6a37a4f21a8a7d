// The claim's cost must follow the room it fills, not the backlog (issue 9): PostgreSQL reads
// the heads of the queue and what shares their locks, whatever else is queued. Measured as the
// buffers EXPLAIN (ANALYZE, BUFFERS) reports for the claim as workers run it, on a real
// PostgreSQL, with 200 and then 4,000 queued jobs that share no lock; rolled back each time.
// Buffers, not time: the figure is the plan's, the same on any box.
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { CLAIM_SQL } from '../../src/engine/job-store.js';

describe('the claim with a large backlog', () => {
  let app: TestApp;
  let db: pg.Pool;

  beforeAll(async () => {
    app = await startTestApp({ booksDir: 'test/fixtures/service-books', engine: false });
    db = new pg.Pool({ connectionString: app.server.database.url, max: 2 });
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  /** `n` more copies of job `id` (which may have ended), each with a lock of its own and a later creation time: queued, or running under a lease. */
  async function copies(id: string, n: number, from: number, state: 'scheduled' | 'running' = 'scheduled'): Promise<void> {
    const { rows } = await db.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'jobs' AND table_schema = current_schema()
       AND column_name NOT IN ('id', 'locks', 'date_created', 'state', 'date_done', 'lease_token', 'dedupe_key', 'idempotency_key', 'idempotency_scope')`,
    );
    const columns = rows.map((r) => `"${r.column_name}"`).join(', ');
    await db.query(
      `INSERT INTO jobs (id, locks, date_created, state, lease_token, ${columns})
       SELECT gen_random_uuid(), ARRAY['copy:' || g], date_created + make_interval(secs => g), $4, CASE WHEN $4 = 'running' THEN gen_random_uuid() END, ${columns}
       FROM jobs, generate_series($2::int, $2::int + $3::int - 1) g WHERE id = $1`,
      [id, from, n, state],
    );
  }

  /** Shared buffers the claim touches, as a worker with room for 8 runs it. */
  async function claimBuffers(): Promise<{ blocks: number; claimed: number }> {
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${CLAIM_SQL}`, ['plan-test', JSON.stringify({ default: 64 }), 8, 15, 8]);
      const plan = rows[0]['QUERY PLAN'][0].Plan;
      return { blocks: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'], claimed: plan['Actual Rows'] };
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('reads about as much with 4,000 queued as with 200', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-2/actions/check', { params: {} });
    expect(status).toBe(202);
    const id = body.job.id as string;

    await copies(id, 16, 1, 'running');
    await copies(id, 200, 17);
    await claimBuffers(); // warm the catalogue
    const small = await claimBuffers();
    await copies(id, 3800, 217);
    const large = await claimBuffers();

    expect(small.claimed).toBe(8);
    expect(large.claimed).toBe(8);
    // Before this was fixed, the claim read 4,790 buffers with 200 queued (on a table not yet
    // analyzed, as in a first burst): the running count was redone for every candidate, with a
    // parent test over every live job, and the candidates were found by walking the queue.
    // Now about 450, as many with 4,000 queued.
    expect(small.blocks).toBeLessThan(100 * 8);
    expect(large.blocks).toBeLessThan(small.blocks * 1.5 + 20);
  }, 60_000);
});
