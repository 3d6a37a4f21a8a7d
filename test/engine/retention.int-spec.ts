// Job retention (DESIGN.md "Operating"; River's cleaner) on a real PostgreSQL with backdated
// rows: finished jobs older than QUIRE_JOB_RETENTION_DAYS go with their steps, events and
// deliveries, `error` ones only after QUIRE_JOB_ERROR_RETENTION_DAYS; jobs still owing chain
// links or notifications, or with a live child, stay; batches are small, and a row another
// transaction holds is skipped rather than waited for; unused book versions go too.
import { jest } from '@jest/globals';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { JobCleaner } from '../../src/engine/job-cleaner.js';

describe('job retention', () => {
  let app: TestApp;
  let db: pg.Pool;

  beforeAll(async () => {
    // No worker: the jobs here are made and ended by the test.
    app = await startTestApp({
      booksDir: 'test/fixtures/service-books',
      engine: false,
      env: { QUIRE_JOB_RETENTION_DAYS: '30', QUIRE_JOB_ERROR_RETENTION_DAYS: '90' },
    });
    db = new pg.Pool({ connectionString: app.server.database.url, max: 3 });
    // The test runs the sweeps itself: stop the one due soon after start.
    await cleaner().onApplicationShutdown();
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  const cleaner = () => app.server.app.get(JobCleaner);
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);
  const exists = async (id: string) => (await count(`SELECT count(*) AS n FROM jobs WHERE id = $1`, [id])) === 1;

  /** A job on app-2 (check action) made through the API, then ended `state` `days` ago. */
  async function ended(state: 'done' | 'error' | 'cancel', days: number, fields = ''): Promise<string> {
    const { status, body } = await app.api('POST', '/api/deployments/app-2/actions/check', { params: {} });
    expect(status).toBe(202);
    const id = body.job.id as string;
    await db.query(`UPDATE jobs SET state = $2, date_done = now() - make_interval(days => $3)${fields} WHERE id = $1`, [id, state, days]);
    return id;
  }

  it('prunes old finished jobs with their steps, events and deliveries; keeps the rest', async () => {
    const oldDone = await ended('done', 31);
    const oldCancel = await ended('cancel', 31);
    const recentDone = await ended('done', 29);
    const oldError = await ended('error', 31);
    const ancientError = await ended('error', 91);
    const owesChain = await ended('done', 40, ', chain_pending = true');
    const owesNotice = await ended('error', 100);
    await db.query(
      `INSERT INTO notification_deliveries (job_id, job_ended_at, entry_index, channel, target, outcome, payload) VALUES ($1, now(), 0, 'webhook', 'http://x', 'error', '{}')`,
      [owesNotice],
    );
    const sent = await ended('done', 45);
    await db.query(
      `INSERT INTO notification_deliveries (job_id, job_ended_at, entry_index, channel, target, outcome, payload, state) VALUES ($1, now(), 0, 'webhook', 'http://x', 'done', '{}', 'sent')`,
      [sent],
    );
    const parent = await ended('done', 50);
    const { body: child } = await app.api('POST', '/api/deployments/app-1/actions/check', { params: {} });
    await db.query(`UPDATE jobs SET parent_job_id = $2 WHERE id = $1`, [child.job.id, parent]);
    const live = child.job.id as string;
    expect(await count(`SELECT count(*) AS n FROM deploy_events WHERE job_id = $1`, [oldDone])).toBeGreaterThan(0);

    const result = await cleaner().clean();
    expect(result.jobs).toBe(4);
    expect(result.events).toBeGreaterThanOrEqual(4);

    for (const gone of [oldDone, oldCancel, ancientError, sent]) {
      expect(await exists(gone)).toBe(false);
      expect(await count(`SELECT count(*) AS n FROM job_steps WHERE job_id = $1`, [gone])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM deploy_events WHERE job_id = $1`, [gone])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM notification_deliveries WHERE job_id = $1`, [gone])).toBe(0);
    }
    for (const kept of [recentDone, oldError, owesChain, owesNotice, parent, live]) expect(await exists(kept)).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM job_steps WHERE job_id = $1`, [recentDone])).toBeGreaterThan(0);

    // Once the child ends, nothing holds its parent.
    await db.query(`UPDATE jobs SET state = 'done', date_done = now() WHERE id = $1`, [live]);
    expect((await cleaner().clean()).jobs).toBe(1);
    expect(await exists(parent)).toBe(false);
  });

  it('works in batches of the given size', async () => {
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await ended('done', 60));
    const query = jest.spyOn(app.server.database.dataSource, 'transaction');
    try {
      expect((await cleaner().clean(5)).jobs).toBe(12);
      expect(query).toHaveBeenCalledTimes(3); // 5 + 5 + 2
    } finally {
      query.mockRestore();
    }
    for (const id of ids) expect(await exists(id)).toBe(false);
  });

  it('skips a job another transaction holds instead of waiting for it', async () => {
    const held = await ended('done', 60);
    const free = await ended('done', 60);
    const other = await db.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE`, [held]);
      // Would hang here (and time the test out) if the sweep waited for the lock.
      expect((await cleaner().clean()).jobs).toBe(1);
      expect(await exists(held)).toBe(true);
      expect(await exists(free)).toBe(false);
    } finally {
      await other.query('ROLLBACK');
      other.release();
    }
    expect((await cleaner().clean()).jobs).toBe(1);
    expect(await exists(held)).toBe(false);
  });

  it('prunes book versions that are not current and that no job uses', async () => {
    const copy = (hash: string) =>
      db.query(
        `INSERT INTO book_versions (name, kind, action, scope, hash, author_version, file, source, definition, is_current)
         SELECT name, kind, action, scope, $2, author_version, file, source, definition, false FROM book_versions WHERE name = $1 AND is_current
         RETURNING id`,
        ['svc.check', hash],
      );
    const unused = (await copy('old-unused')).rows[0].id as string;
    const used = (await copy('old-used')).rows[0].id as string;
    const job = await ended('error', 1);
    await db.query(`UPDATE jobs SET book_version_id = $2 WHERE id = $1`, [job, used]);
    const current = await count(`SELECT count(*) AS n FROM book_versions WHERE is_current`);

    expect((await cleaner().clean()).book_versions).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM book_versions WHERE id = $1`, [unused])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM book_versions WHERE id = $1`, [used])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM book_versions WHERE is_current`)).toBe(current);
  });
});
