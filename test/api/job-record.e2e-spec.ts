// What a job record tells (issue 10): step outcomes counted separately in `progress.counts`,
// skip reasons in plain words, links between parent and child jobs, the activity record of
// who did what, and a differing trigger refused instead of merged. Real service, real worker,
// real PostgreSQL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';

const INVENTORY = `clusters:
  - name: c1
    groups:
      - name: g1
        deployments:
          - { name: app-1, kind: rec }
          - { name: app-2, kind: rec }
`;

const BOOKS: Record<string, string> = {
  'rec.mixed.book.yaml': `name: rec.mixed
kind: rec
action: mixed
params:
  type: object
  properties:
    run_optional: { type: boolean, default: false }
steps:
  - { name: first, kind: shell, run: "echo one" }
  - { name: flaky, kind: shell, run: "exit 3", on_failure: ignore }
  - { name: optional, kind: shell, run: "echo optional", when: "{{params.run_optional}}" }
  - { name: breaks, kind: shell, run: "exit 4" }
  - { name: never, kind: shell, run: "echo never" }
`,
  'rec.parent.book.yaml': `name: rec.parent
kind: rec
action: parent
steps:
  - { name: call, kind: trigger, action: child, wait: true }
on_success:
  - trigger: chained
`,
  'rec.child.book.yaml': `name: rec.child
kind: rec
action: child
steps:
  - { name: work, kind: shell, run: "echo child" }
`,
  'rec.chained.book.yaml': `name: rec.chained
kind: rec
action: chained
sets_state: released
steps:
  - { name: work, kind: shell, run: "echo chained" }
`,
  'rec.approve.book.yaml': `name: rec.approve
kind: rec
action: approve
params:
  type: object
  properties:
    release: { type: string, default: "1" }
steps:
  - { name: gate, kind: manual, instructions: "approve it", estimated_duration: 60 }
  - { name: after, kind: shell, run: "echo after" }
`,
};

const until = async <T>(what: string, read: () => Promise<T | undefined | null | false>, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('the job record', () => {
  let app: TestApp;
  let booksDir: string;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-record-books-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    for (const [file, text] of Object.entries(BOOKS)) writeFileSync(join(booksDir, file), text);
    app = await startTestApp({ booksDir, env: { QUIRE_SHUTDOWN_GRACE_SECONDS: '1' } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    if (booksDir) rmSync(booksDir, { recursive: true, force: true });
  });

  const job = async (id: string) => (await app.api('GET', `/api/jobs/${id}`)).body.job;
  const ended = (id: string, ms = 30_000) =>
    until(
      `job ${id} to end`,
      async () => {
        const j = await job(id);
        return ['done', 'error', 'cancel'].includes(j.state) ? j : null;
      },
      ms,
    );

  it('counts done, failed, ignored, skipped and cancelled steps apart, in the job and its events', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-1/actions/mixed', { params: {} });
    expect(status).toBe(202);
    expect(body.job.progress.counts).toEqual({ done: 0, failed: 0, ignored: 0, skipped: 0, cancelled: 0 });
    const done = await ended(body.job.id);
    expect(done.state).toBe('error');
    expect(done.steps.map((s: any) => s.state)).toEqual(['done', 'error', 'skipped', 'error', 'skipped']);
    expect(done.progress.counts).toEqual({ done: 1, failed: 1, ignored: 1, skipped: 2, cancelled: 0 });
    expect(done.progress.done_steps).toBe(5);
    // The `when` that skipped a step is told in words, not as template source.
    expect(done.steps[2].error).toBe('skipped: params.run_optional is false');
    // The final job event carries the same counts.
    const server = app.server as unknown as { database: { url: string } };
    const pg = (await import('pg')).default;
    const db = new pg.Client({ connectionString: server.database.url });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT payload FROM deploy_events WHERE job_id = $1 AND type = 'job' ORDER BY seq DESC LIMIT 1`, [
        body.job.id,
      ]);
      expect(rows[0].payload.state).toBe('error');
      expect(rows[0].payload.progress.counts).toEqual({ done: 1, failed: 1, ignored: 1, skipped: 2, cancelled: 0 });
    } finally {
      await db.end();
    }
  }, 45_000);

  it('links a parent to the child its trigger step made and the job its chain made, both ways', async () => {
    const { body } = await app.api('POST', '/api/deployments/app-2/actions/parent', {});
    const parent = await ended(body.job.id);
    expect(parent.state).toBe('done');
    const chainedId = await until(
      'the chained job',
      async () => (await job(parent.id)).children.find((c: any) => c.action === 'chained')?.id,
    );
    const again = await job(parent.id);
    const link = (j: any) => ({
      id: j.id,
      book: j.book,
      action: j.action,
      target: { scope: 'deployment', id: j.deployment_id, name: 'app-2' },
      state: expect.any(String),
    });
    const child = await ended(again.children.find((c: any) => c.action === 'child').id);
    const chained = await ended(chainedId);
    expect(again.children).toEqual([link(child), link(chained)]);
    expect(again.parent).toBeNull();
    expect(child.parent).toEqual({ ...link(parent), state: 'done' });
    expect(chained.parent).toEqual({ ...link(parent), state: 'done' });
    expect(child.children).toEqual([]);
    expect(parent.target).toEqual({ scope: 'deployment', id: parent.deployment_id, name: 'app-2' });
  }, 45_000);

  it('records who triggered, acknowledged, cancelled and resumed a job, with the note', async () => {
    const { body } = await app.api('POST', '/api/deployments/app-1/actions/approve', {});
    const id = body.job.id;
    await until('the gate to wait', async () => (await job(id)).steps[0].state === 'waiting');
    expect((await app.api('POST', `/api/jobs/${id}/steps/gate/ack`, { note: 'checked staging' })).status).toBe(200);
    const done = await ended(id);
    expect(done.state).toBe('done');

    const second = (await app.api('POST', '/api/deployments/app-1/actions/approve', {})).body.job.id;
    await until('the gate to wait', async () => (await job(second)).steps[0].state === 'waiting');
    expect((await app.api('POST', `/api/jobs/${second}/steps/gate/reject`, { note: 'not today' })).status).toBe(200);
    await ended(second);
    expect((await app.api('POST', `/api/jobs/${second}/resume`)).status).toBe(202);
    await until('the gate to wait again', async () => (await job(second)).steps[0].state === 'waiting');
    expect((await app.api('POST', `/api/jobs/${second}/cancel`)).status).toBe(200);

    const token = (await app.api('GET', `/api/jobs/${id}`)).body.job.triggered_by as string;
    expect(token).toMatch(/^token:/);
    const name = token.slice('token:'.length);
    expect(name).not.toBe('');
    expect(done.activity).toEqual([
      { at: expect.any(String), by: name, what: 'triggered' },
      { at: expect.any(String), by: name, what: 'acknowledged', step: 'gate', note: 'checked staging' },
    ]);
    expect((await job(second)).activity.map((a: any) => [a.what, a.step ?? null, a.note ?? null])).toEqual([
      ['triggered', null, null],
      ['rejected', 'gate', 'not today'],
      ['resumed', null, null],
      ['cancelled', null, null],
    ]);
  }, 60_000);

  it('returns the live job for the same params and refuses different ones with 409 naming it', async () => {
    const first = await app.api('POST', '/api/deployments/app-2/actions/approve', { params: { release: '7' } });
    expect(first.status).toBe(202);
    const same = await app.api('POST', '/api/deployments/app-2/actions/approve', { params: { release: '7' } });
    expect([same.status, same.body.job.id]).toEqual([200, first.body.job.id]);
    const other = await app.api('POST', '/api/deployments/app-2/actions/approve', { params: { release: '8' } });
    expect(other.status).toBe(409);
    expect(other.body.message).toContain(first.body.job.id);
    expect(other.body.message).toContain('{"release":"7"}');
    expect(other.body.details).toEqual([expect.objectContaining({ field: 'params', job_id: first.body.job.id, params: { release: '7' } })]);
    expect((await app.api('POST', `/api/jobs/${first.body.job.id}/cancel`)).status).toBe(200);
  });

  it('finds a job by the short id the portal shows, and says when a prefix is ambiguous', async () => {
    const { body } = await app.api('GET', '/api/jobs?limit=500');
    const [a] = body.jobs;
    const short = await app.api('GET', `/api/jobs/${a.id.slice(0, 8)}`);
    expect([short.status, short.body.job.id]).toEqual([200, a.id]);
    const dashed = await app.api('GET', `/api/jobs/${a.id.slice(0, 13)}`);
    expect(dashed.body.job.id).toBe(a.id);
    // Fewer than 8 digits is not an id.
    expect((await app.api('GET', `/api/jobs/${a.id.slice(0, 7)}`)).status).toBe(404);
    const pg = (await import('pg')).default;
    const db = new pg.Client({ connectionString: (app.server as unknown as { database: { url: string } }).database.url });
    await db.connect();
    try {
      // Make a twin: a copy of the job whose id differs from it only after the 8th digit.
      const twin = `${a.id.slice(0, 8)}-0000-4000-8000-${a.id.slice(-12) === '000000000000' ? '000000000001' : '000000000000'}`;
      await db.query(
        `INSERT INTO jobs SELECT (jsonb_populate_record(NULL::jobs, to_jsonb(j) || jsonb_build_object('id', $2::text, 'dedupe_key', NULL, 'idempotency_key', NULL))).* FROM jobs j WHERE id = $1`,
        [a.id, twin],
      );
      const ambiguous = await app.api('GET', `/api/jobs/${a.id.slice(0, 8)}`);
      expect(ambiguous.status).toBe(409);
      expect(ambiguous.body.message).toContain(a.id);
      expect(ambiguous.body.message).toContain(twin);
      await db.query('DELETE FROM jobs WHERE id = $1', [twin]);
    } finally {
      await db.end();
    }
  });

  it("pages and filters the fleet, with each deployment's last job and the job that set its state", async () => {
    const { status, body } = await app.api('GET', '/api/fleet?limit=1');
    expect(status).toBe(200);
    expect([body.total, body.deployments.length]).toEqual([2, 1]);
    const second = (await app.api('GET', '/api/fleet?limit=1&offset=1')).body.deployments[0];
    expect([body.deployments[0].name, second.name]).toEqual(['app-1', 'app-2']);
    const app2 = (await app.api('GET', '/api/fleet?q=p-2')).body;
    expect(app2.deployments.map((d: any) => d.name)).toEqual(['app-2']);
    expect(app2.deployments[0].last_job).toEqual(expect.objectContaining({ action: expect.any(String) }));
    expect(app2.deployments[0].group).toEqual({ id: expect.any(String), name: 'g1' });
    // The chained job set app-2's state: it is the "current release", whatever ran after it.
    expect(app2.deployments[0].state).toBe('released');
    expect(app2.deployments[0].state_job).toEqual(expect.objectContaining({ action: 'chained', sets_state: 'released', params: {} }));
    expect((await app.api('GET', '/api/fleet?cluster=c1&kind=rec&state=draft')).body.total).toBe(1);
    expect((await app.api('GET', '/api/fleet?state=released')).body.deployments.map((d: any) => d.name)).toEqual(['app-2']);
    expect((await app.api('GET', '/api/fleet?state=deployed')).body.total).toBe(0);
    expect((await app.api('GET', '/api/fleet?limit=x')).status).toBe(400);
  });

  it('filters jobs by text, action, target, state, date and attention, and counts jobs waiting for a person', async () => {
    const waiting = (await app.api('POST', '/api/deployments/app-1/actions/approve', { params: { release: 'w' } })).body.job.id;
    await until('the gate to wait', async () => (await job(waiting)).steps[0].state === 'waiting');
    expect((await app.api('GET', '/api/jobs/summary')).body).toEqual({ waiting: 1 });
    const ids = async (query: string) => (await app.api('GET', `/api/jobs?${query}`)).body.jobs.map((j: any) => j.id);
    const attention = await ids('attention=true');
    expect(attention).toContain(waiting);
    const all = (await app.api('GET', '/api/jobs?attention=true')).body.jobs;
    expect(all.every((j: any) => j.state === 'error' || j.id === waiting)).toBe(true);
    expect(await ids('action=approve&target=app-1&state=running')).toEqual([waiting]);
    expect(await ids(`q=${waiting.slice(0, 8)}`)).toEqual([waiting]);
    expect((await ids('q=mixed')).length).toBe(1);
    // Text that is not hex is no id prefix: "mixed" must not find a job whose id starts "ed".
    const pg = (await import('pg')).default;
    const db = new pg.Client({ connectionString: (app.server as unknown as { database: { url: string } }).database.url });
    await db.connect();
    try {
      const ed = 'ed000000-0000-4000-8000-000000000000';
      await db.query(
        `INSERT INTO jobs SELECT (jsonb_populate_record(NULL::jobs, to_jsonb(j) || jsonb_build_object('id', $2::text, 'state', 'cancel', 'dedupe_key', NULL, 'idempotency_key', NULL))).* FROM jobs j WHERE id = $1`,
        [waiting, ed],
      );
      try {
        expect(await ids('q=mixed')).not.toContain(ed);
        expect(await ids('q=ed000000')).toEqual([ed]);
      } finally {
        await db.query('DELETE FROM jobs WHERE id = $1', [ed]);
      }
    } finally {
      await db.end();
    }
    expect(await ids('since=2999-01-01')).toEqual([]);
    expect((await app.api('GET', '/api/jobs?since=yesterday')).status).toBe(400);
    expect((await app.api('POST', `/api/jobs/${waiting}/cancel`)).status).toBe(200);
    expect((await app.api('GET', '/api/jobs/summary')).body).toEqual({ waiting: 0 });
  }, 45_000);
});
