// Triggering actions through the real API on a real PostgreSQL: the job snapshot, every
// refusal with its status and details, and that a refused trigger stores nothing.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { TokensService } from '../../src/auth/tokens.service.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/service-books');

describe.each([['postgres'], ['embedded']])('triggering actions on %s', (mode) => {
  let app: TestApp;
  let booksDir: string;
  let db: pg.Pool;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-books-'));
    cpSync(FIXTURES, booksDir, { recursive: true });
    // No worker here: these tests look at the stored snapshot before anything runs it.
    app = await startTestApp({ booksDir, embedded: mode === 'embedded', engine: false });
    db = new pg.Pool({ connectionString: app.server.database.url, max: 1 });
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  const count = async (table: string) => Number((await db.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
  /** Rows a trigger writes: a refused one must leave these as they were. */
  const stored = async () => [await count('jobs'), await count('job_steps'), await count('deploy_events')];

  it('refuses calls without a valid token', async () => {
    expect((await fetch(`${app.url}/api/jobs`)).status).toBe(401);
    const bad = await fetch(`${app.url}/api/jobs`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
  });

  it('stores a job snapshot with its steps, estimates, timeouts and frozen serialize data', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-1/actions/deploy', { params: { version: '15.2' } });
    expect(status).toBe(202);
    const job = body.job;
    expect(job.state).toBe('scheduled');
    expect(job.params).toEqual({ version: '15.2', replicas: 1 });
    expect(job.steps.map((s: any) => [s.name, s.state, s.estimated_duration, s.timeout])).toEqual([
      ['prepare', 'pending', 4, 20],
      ['probe', 'pending', 60, 300],
      ['finish', 'pending', 10, 30],
    ]);
    expect(job.steps[0].data).toEqual({ dir: '/srv/app-1/15.2', replicas: 1 });
    expect(job.steps[0].max_attempts).toBe(3);
    expect(job.progress).toMatchObject({ done_steps: 0, total_steps: 3, eta_s: 74, eta_basis: 'book', eta_runs: 0 });
    const fetched = await app.api('GET', `/api/jobs/${job.id}`);
    expect(fetched.body.job.steps).toHaveLength(3);
    const events = await db.query('SELECT type, payload FROM deploy_events WHERE job_id = $1', [job.id]);
    expect(events.rows).toEqual([expect.objectContaining({ type: 'job', payload: expect.objectContaining({ state: 'scheduled' }) })]);
  });

  it('lists every parameter error and stores nothing', async () => {
    const before = await stored();
    const { status, body } = await app.api('POST', '/api/deployments/app-2/actions/deploy', {
      params: { version: 'x.y', replicas: 0, extra: 1 },
    });
    expect(status).toBe(400);
    expect(body.details.map((d: any) => d.field).sort()).toEqual(['params.extra', 'params.replicas', 'params.version']);
    const missing = await app.api('POST', '/api/deployments/app-2/actions/deploy', { params: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.details[0].field).toBe('params.version');
    expect(await stored()).toEqual(before);
  });

  it('refuses a trigger whose templates need a var the deployment lacks, naming step and field', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-2/actions/deploy', { params: { version: '1' } });
    expect(status).toBe(400);
    expect(body.details).toEqual([expect.objectContaining({ step: 'probe', field: 'url' })]);
    expect(body.details[0].message).toContain('deployment.vars.host');
  });

  it('answers 404 for an unknown deployment or action, 400 for malformed JSON, and stores nothing', async () => {
    const before = await stored();
    expect((await app.api('POST', '/api/deployments/nope/actions/deploy', {})).status).toBe(404);
    expect((await app.api('POST', '/api/deployments/app-1/actions/nope', {})).status).toBe(404);
    const malformed = await app.api('POST', '/api/deployments/app-1/actions/deploy', '{"params": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toContain('malformed JSON');
    expect((await app.api('POST', '/api/deployments/app-1/actions/deploy', { params: [] })).status).toBe(400);
    expect(await stored()).toEqual(before);
  });

  it('refuses an action the deployment state does not allow, with 409 naming the state', async () => {
    await app.api('PATCH', '/api/deployments/odd-1', { state: 'dropped', kind: 'svc' });
    const { status, body } = await app.api('POST', '/api/deployments/odd-1/actions/deploy', { params: { version: '1' } });
    expect(status).toBe(409);
    expect(body.message).toContain("'dropped'");
  });

  it('returns the live job instead of a second one (unique), even for concurrent triggers', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => app.api('POST', '/api/deployments/app-1/actions/deploy', { params: { version: '2' } })),
    );
    const failed = results.filter((r) => !r.body?.job);
    expect(failed.map((r) => [r.status, r.body])).toEqual([]);
    const ids = new Set(results.map((r) => r.body.job.id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.status === 200 || r.status === 202)).toBe(true);
  });

  it('replays an Idempotency-Key and refuses its reuse for another request', async () => {
    const first = await app.api('POST', '/api/deployments/app-1/actions/check', {}, { 'idempotency-key': `k-${mode}` });
    const again = await app.api('POST', '/api/deployments/app-1/actions/check', {}, { 'idempotency-key': `k-${mode}` });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.job.id).toBe(first.body.job.id);
    const other = await app.api('POST', '/api/deployments/app-2/actions/check', {}, { 'idempotency-key': `k-${mode}` });
    expect(other.status).toBe(422);
  });

  it('replays a retry that names the deployment by id and lists the params in another order', async () => {
    const key = { 'idempotency-key': `order-${mode}` };
    const params = { a: 1, b: { c: 2, d: [3, 4] } };
    const first = await app.api('POST', '/api/deployments/app-1/actions/check', { params }, key);
    expect(first.status).toBe(202);
    const id = first.body.job.deployment_id;
    const retry = await app.api('POST', `/api/deployments/${id}/actions/check`, { params: { b: { d: [3, 4], c: 2 }, a: 1 } }, key);
    expect([retry.status, retry.body.job.id]).toEqual([200, first.body.job.id]);
    const changed = await app.api('POST', `/api/deployments/${id}/actions/check`, { params: { a: 1, b: { c: 2, d: [4, 3] } } }, key);
    expect(changed.status).toBe(422);
  });

  it("keeps each token's Idempotency-Keys apart", async () => {
    const other = (await app.server.app.get(TokensService).create(`other-${mode}`, 'operator')).token;
    const key = { 'idempotency-key': `shared-${mode}` };
    const mine = await app.api('POST', '/api/deployments/app-1/actions/check', {}, key);
    const theirs = await fetch(`${app.url}/api/deployments/app-1/actions/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json', ...key },
      body: '{}',
    });
    const job = ((await theirs.json()) as { job: { id: string; triggered_by: string } }).job;
    expect(theirs.status).toBe(202);
    expect(job.id).not.toBe(mine.body.job.id);
    expect(job.triggered_by).toBe(`token:other-${mode}`);
    const again = await app.api('POST', '/api/deployments/app-1/actions/check', {}, key);
    expect([again.status, again.body.job.id]).toEqual([200, mine.body.job.id]);
  });

  it('ends a job whose `when` is false done, with every step skipped and the reason', async () => {
    const { body } = await app.api('POST', '/api/deployments/app-2/actions/check', {});
    expect(body.job.state).toBe('done');
    expect(body.job.skip_reason).toContain('rendered');
    expect(body.job.steps.every((s: any) => s.state === 'skipped')).toBe(true);
  });

  it('triggers group books on groups', async () => {
    const { status, body } = await app.api('POST', '/api/groups/g1/actions/report', {});
    expect(status).toBe(202);
    expect(body.job.deployment_id).toBeNull();
    expect(body.job.group_id).toEqual(expect.any(String));
  });

  it('plans without storing anything', async () => {
    const before = await count('jobs');
    const { status, body } = await app.api('POST', '/api/books/plan', { deployment: 'app-1', action: 'deploy', params: { version: '3' } });
    expect(status).toBe(200);
    expect(body.plan.eta_s).toBe(74);
    expect(body.plan.steps[0].rendered.run).toBe('echo /srv/app-1/3');
    expect(body.plan.steps[1].starts_after_s).toBe(4);
    expect(await count('jobs')).toBe(before);
  });

  it('takes learned estimates once the history has enough samples', async () => {
    await db.query(`INSERT INTO step_duration_history (book_name, step_name, samples, mean, recent) VALUES ('svc.deploy', 'probe', 3, 7.5, '{7,8,7.5}')`);
    const { body } = await app.api('POST', '/api/books/plan', { deployment: 'app-1', action: 'deploy', params: { version: '3' } });
    const probe = body.plan.steps.find((s: any) => s.name === 'probe');
    // The timeout is max(book estimate 60 s, learned p99 8 s) × 5: learning never tightens it (BOOKS.md section 7).
    expect([probe.estimated_duration, probe.estimate_source, probe.estimate_runs, probe.timeout]).toEqual([7.5, 'history', 3, 300]);
  });

  it('keeps a job on the book version it was compiled from when the book changes', async () => {
    const { body } = await app.api('POST', '/api/deployments/app-1/actions/check', {});
    const file = join(booksDir, 'svc.check.book.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('echo checking', 'echo verifying'));
    const reload = await app.api('POST', '/api/books/reload');
    expect(reload.body.created).toEqual(['svc.check']);
    const job = (await app.api('GET', `/api/jobs/${body.job.id}`)).body.job;
    const versions = await db.query('SELECT id, is_current FROM book_versions WHERE name = $1 ORDER BY date_created', ['svc.check']);
    expect(versions.rows).toHaveLength(2);
    expect(job.book_version_id).toBe(versions.rows[0].id);
    const step = await db.query('SELECT spec FROM job_steps WHERE job_id = $1', [job.id]);
    expect(step.rows[0].spec.run).toContain('echo checking');
    copyFileSync(join(FIXTURES, 'svc.check.book.yaml'), file);
  });
});
