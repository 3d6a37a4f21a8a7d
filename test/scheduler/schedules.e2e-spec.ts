// Schedules (issue 7, item 1): two `quire serve` nodes on one database fire an `every: 2s`
// schedule with no leader, each slot making one job; disabling stops it; an override and
// `enabled` survive a book reload; run-now; a missed slot runs once on start with
// QUIRE_SCHEDULE_MISSED=once and not with skip; a bad override is a 400 that changes nothing.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QuireCluster, inventory, until, type QuireProcess } from '../support/processes.js';

const run = promisify(execFile);

const TICK = (every: string, extra = '') => `name: svc.tick
kind: svc
action: tick
${extra}steps:
  - name: only
    kind: shell
    run: "echo {{job.id}} >> {{deployment.vars.markers}}/tick.runs"
schedules:
  - every: ${every}
`;

// refused by allowed_from at every slot: recorded on the schedule, never a job, never a loop
const GUARDED = `name: svc.guarded
kind: svc
action: guarded
allowed_from: [retired]
steps:
  - name: only
    kind: shell
    run: "true"
schedules:
  - every: 2s
`;

interface Schedule {
  id: string;
  book: string;
  action: string;
  target: { id: string; name: string };
  spec: Record<string, unknown>;
  override: Record<string, unknown> | null;
  enabled: boolean;
  next_run_at: string | null;
  last_run_at: string | null;
  last_job_id: string | null;
  last_result: string | null;
}

async function scheduleOf(cluster: QuireCluster, deployment: string, book = 'svc.tick'): Promise<Schedule> {
  const { status, body } = await cluster.api<{ schedules: Schedule[] }>('GET', `/api/schedules?deployment=${deployment}&book=${book}`);
  expect(status).toBe(200);
  expect(body.schedules).toHaveLength(1);
  return body.schedules[0]!;
}

async function firings(cluster: QuireCluster, scheduleId: string) {
  const { rows } = await cluster.db.query<{ fire_at: Date; job_id: string | null; result: string }>(
    `SELECT fire_at, job_id, result FROM schedule_firings WHERE schedule_id = $1 ORDER BY fire_at`,
    [scheduleId],
  );
  return rows;
}

async function firedJobs(cluster: QuireCluster, scheduleId: string) {
  const { rows } = await cluster.db.query<{ id: string; idempotency_key: string }>(
    `SELECT id, idempotency_key FROM jobs WHERE triggered_by = $1 ORDER BY date_created`,
    [`schedule:${scheduleId}`],
  );
  return rows;
}

/** The one schedule of a cluster's database, as stored (a restarted node listens on another port). */
async function scheduleRow(cluster: QuireCluster) {
  const { rows } = await cluster.db.query<{
    id: string;
    next_run_at: Date | null;
    last_run_at: Date | null;
    last_result: string | null;
    last_job_id: string | null;
  }>(`SELECT id, next_run_at, last_run_at, last_result, last_job_id FROM schedules`);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe('schedules on two nodes', () => {
  let cluster: QuireCluster;
  const nodes: QuireProcess[] = [];

  beforeAll(async () => {
    cluster = await QuireCluster.start({
      // unique: none, so only the slot's own key can keep two nodes from making two jobs of it
      books: {
        'inventory.yaml': inventory('svc', 2),
        'svc.tick.book.yaml': TICK('2s', 'unique: none\n'),
        'svc.guarded.book.yaml': GUARDED,
      },
    });
    nodes.push(await cluster.serve({ engine: true, name: 'n1' }));
    nodes.push(await cluster.serve({ engine: true, name: 'n2' }));
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('lists one schedule per deployment of the book kind, with its next run', async () => {
    const { body } = await cluster.api<{ schedules: Schedule[] }>('GET', '/api/schedules?book=svc.tick');
    expect(body.schedules.map((s) => s.target.name).sort()).toEqual(['d1', 'd2']);
    for (const s of body.schedules) {
      expect(s).toMatchObject({
        book: 'svc.tick',
        action: 'tick',
        scope: 'deployment',
        spec: { every: '2s' },
        override: null,
        enabled: true,
      });
      expect(Date.parse(s.next_run_at!) % 2000).toBe(0);
    }
    const doc = (await (await fetch(`${cluster.url}/api/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/schedules']!)).toEqual(['get']);
    expect(Object.keys(doc.paths['/api/schedules/{id}']!)).toEqual(['patch']);
    expect(Object.keys(doc.paths['/api/schedules/{id}/run']!)).toEqual(['post']);
  });

  it('fires every slot exactly once across both nodes', async () => {
    const schedule = await scheduleOf(cluster, 'd1');
    // about 20 s of slots; on a slow box it only takes longer
    await until('ten slots of d1 fired', async () => (await firings(cluster, schedule.id)).length >= 10, 120_000, 250);
    expect(nodes.every((n) => n.alive)).toBe(true);

    const fired = await firings(cluster, schedule.id);
    const jobs = await firedJobs(cluster, schedule.id);
    const created = fired.filter((f) => f.result === 'created');
    // every job a firing, every created firing its job, one per slot
    expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(created.map((f) => f.job_id)));
    expect(jobs.length).toBe(created.length);
    expect(new Set(jobs.map((j) => j.idempotency_key)).size).toBe(jobs.length);
    const slots = fired.map((f) => f.fire_at.getTime());
    expect(new Set(slots).size).toBe(slots.length);
    for (const slot of slots) expect(slot % 2000).toBe(0);
    // each node computes the same slots: none between two consecutive ones
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(2000);
    // a refusal (`unique` while the previous job still ran) is recorded, never a second job
    for (const f of fired.filter((f) => f.result !== 'created')) expect(f).toMatchObject({ result: 'refused', job_id: null });

    const after = await scheduleOf(cluster, 'd1');
    expect(after.last_run_at).not.toBeNull();
    expect(Date.parse(after.next_run_at!)).toBeGreaterThan(Date.parse(after.last_run_at!));
  }, 150_000);

  it('records a slot refused by allowed_from on the schedule and moves on', async () => {
    const guarded = await scheduleOf(cluster, 'd1', 'svc.guarded');
    await until('two refused slots', async () => (await firings(cluster, guarded.id)).length >= 2, 60_000, 250);
    const fired = await firings(cluster, guarded.id);
    for (const f of fired) expect(f).toMatchObject({ result: 'refused', job_id: null });
    const slots = fired.map((f) => f.fire_at.getTime());
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(2000);
    expect(await firedJobs(cluster, guarded.id)).toEqual([]);
    const after = await scheduleOf(cluster, 'd1', 'svc.guarded');
    expect(after).toMatchObject({ last_result: 'refused', last_job_id: null, enabled: true });
    expect((after as Schedule & { last_error: string }).last_error).toMatch(/not allowed on deployment 'd1' in state/);
    await cluster.api('PATCH', `/api/schedules/${guarded.id}`, { enabled: false });
  }, 90_000);

  it('shows a token only the schedules of its clusters, and lets only admins change them', async () => {
    expect((await cluster.api('POST', '/api/clusters', { name: 'c2' })).status).toBe(201);
    const token = async (role: string, clusters: string[] = []) =>
      (
        await run(
          process.execPath,
          ['bin/quire.js', 'token', 'create', '--role', role, ...(clusters.length ? ['--cluster', ...clusters] : [])],
          {
            env: { PATH: process.env.PATH, DATABASE_URL: cluster.database.url },
          },
        )
      ).stdout.trim();
    const as = async (bearer: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(cluster.url + path, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { schedules?: Schedule[] } };
    };
    const d1 = await scheduleOf(cluster, 'd1');
    const elsewhere = await token('admin', ['c2']);
    expect((await as(elsewhere, 'GET', '/api/schedules')).body.schedules).toEqual([]);
    expect((await as(elsewhere, 'PATCH', `/api/schedules/${d1.id}`, { enabled: false })).status).toBe(404);
    expect((await as(elsewhere, 'POST', `/api/schedules/${d1.id}/run`)).status).toBe(404);
    const here = await token('viewer', ['c1']);
    expect((await as(here, 'GET', '/api/schedules?book=svc.tick')).body.schedules!.map((s) => s.target.name).sort()).toEqual(['d1', 'd2']);
    expect((await as(here, 'PATCH', `/api/schedules/${d1.id}`, { enabled: false })).status).toBe(403);
    expect((await as(here, 'POST', `/api/schedules/${d1.id}/run`)).status).toBe(403);
    expect((await scheduleOf(cluster, 'd1')).enabled).toBe(true);
  }, 60_000);

  it('stops firing a disabled schedule', async () => {
    const schedule = await scheduleOf(cluster, 'd1');
    const { status, body } = await cluster.api('PATCH', `/api/schedules/${schedule.id}`, { enabled: false });
    expect(status).toBe(200);
    expect(body.schedule).toMatchObject({ id: schedule.id, enabled: false });
    const { rows } = await cluster.db.query<{ now: Date }>('SELECT now() AS now');
    const disabledAt = rows[0]!.now.getTime();
    // d2 keeps firing meanwhile: three of its slots pass
    const other = await scheduleOf(cluster, 'd2');
    const before = (await firings(cluster, other.id)).length;
    await until('three more slots of d2', async () => (await firings(cluster, other.id)).length >= before + 3, 60_000, 250);
    const late = (await firings(cluster, schedule.id)).filter((f) => f.fire_at.getTime() > disabledAt);
    expect(late).toEqual([]);
  }, 90_000);

  it('keeps an override and enabled through a reload that edits the entry', async () => {
    const d1 = await scheduleOf(cluster, 'd1');
    const d2 = await scheduleOf(cluster, 'd2');
    const patched = await cluster.api('PATCH', `/api/schedules/${d2.id}`, { override: { cron: '0 3 * * *' } });
    expect(patched.status).toBe(200);
    expect(patched.body.schedule.override).toEqual({ cron: '0 3 * * *' });
    expect(new Date(patched.body.schedule.next_run_at).getUTCMinutes()).toBe(0);

    writeFileSync(join(cluster.booksDir, 'svc.tick.book.yaml'), TICK('3s', 'unique: none\ndescription: edited\n'));
    const reload = await cluster.api('POST', '/api/books/reload');
    expect(reload.status).toBe(200);
    expect(reload.body.created).toContain('svc.tick');

    const [d1After, d2After] = [await scheduleOf(cluster, 'd1'), await scheduleOf(cluster, 'd2')];
    expect(d1After).toMatchObject({ id: d1.id, enabled: false, spec: { every: '3s' }, override: null });
    expect(d2After).toMatchObject({ id: d2.id, enabled: true, spec: { every: '3s' }, override: { cron: '0 3 * * *' } });

    // dropping the override brings back the book's (new) entry
    const dropped = await cluster.api('PATCH', `/api/schedules/${d2.id}`, { override: null });
    expect(dropped.body.schedule).toMatchObject({ override: null, spec: { every: '3s' } });
    expect(Date.parse(dropped.body.schedule.next_run_at) % 3000).toBe(0);
  });

  it('runs a schedule now, disabled or not', async () => {
    const d1 = await scheduleOf(cluster, 'd1');
    const { status, body } = await cluster.api('POST', `/api/schedules/${d1.id}/run`);
    expect(status).toBe(202);
    expect(body.job.triggered_by).toMatch(new RegExp(`^schedule:${d1.id} \\(run by token:`));
    expect((await cluster.finished(body.job.id)).state).toBe('done');
    expect(await scheduleOf(cluster, 'd1')).toMatchObject({ last_job_id: body.job.id, last_result: 'created', enabled: false });
  });

  it('answers 400 naming the field for a bad override, and changes nothing', async () => {
    const d1 = await scheduleOf(cluster, 'd1');
    const bad = await cluster.api('PATCH', `/api/schedules/${d1.id}`, { override: { cron: '61 * * * *' }, enabled: true });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/override\.cron: '61 \* \* \* \*' is not a valid cron expression/);
    expect(bad.body.details[0]).toMatchObject({ field: 'override.cron' });
    const two = await cluster.api('PATCH', `/api/schedules/${d1.id}`, { override: { every: '1h', at: '02:00' } });
    expect(two.status).toBe(400);
    expect(two.body.message).toMatch(/exactly one of every, at or cron/);
    expect(await scheduleOf(cluster, 'd1')).toMatchObject({ enabled: false, override: null });
    expect((await cluster.api('PATCH', '/api/schedules/not-an-id', { enabled: true })).status).toBe(404);
  });

  it('drops the schedule of a deleted deployment and makes one for a new one', async () => {
    const created = await cluster.api('POST', '/api/deployments', {
      name: 'd3',
      kind: 'svc',
      cluster: 'c1',
      vars: { markers: cluster.markers },
    });
    expect(created.status).toBe(201);
    expect((await scheduleOf(cluster, 'd3')).target.name).toBe('d3');
    const removed = await cluster.api('DELETE', '/api/deployments/d3');
    expect(removed.status).toBeLessThan(300);
    const { body } = await cluster.api<{ schedules: Schedule[] }>('GET', '/api/schedules?book=svc.tick');
    expect(body.schedules.map((s) => s.target.name).sort()).toEqual(['d1', 'd2']);
  });

  it('lists them on the command line', async () => {
    const { stdout } = await run(process.execPath, ['bin/quire.js', 'schedules', '--book', 'svc.tick'], {
      env: { PATH: process.env.PATH, QUIRE_URL: cluster.url, QUIRE_TOKEN: cluster.token },
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+BOOK\s+TARGET\s+SPEC\s+ENABLED\s+NEXT RUN\s+LAST RUN$/);
    expect(lines.find((l) => /\bd1\b/.test(l))).toMatch(/svc\.tick\s+d1\s+every 3s\s+off\s+-\s+.*created job [0-9a-f-]{36}/);
    expect(lines.find((l) => /\bd2\b/.test(l))).toMatch(/every 3s\s+on\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \((in \d+s|\d+s ago)\)/);
  });
});

describe('schedules missed while every node was down', () => {
  let cluster: QuireCluster;

  // once a year: no slot of its own comes due during the test
  const YEARLY = `name: svc.tick
kind: svc
action: tick
steps:
  - name: only
    kind: shell
    run: "true"
schedules:
  - cron: "0 0 1 1 *"
`;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 1), 'svc.tick.book.yaml': YEARLY } });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  /** Every node down, a slot three hours ago passed unseen, then one node starts with `policy`. */
  async function restartAfterMissedSlot(policy: 'once' | 'skip'): Promise<{ id: string; missed: Date }> {
    await cluster.stopAll();
    const { rows } = await cluster.db.query<{ id: string; missed: Date }>(
      `UPDATE schedules SET next_run_at = date_trunc('hour', now()) - interval '3 hours' RETURNING id, next_run_at AS missed`,
    );
    await cluster.serve({ engine: true, name: `after-${policy}`, env: { QUIRE_SCHEDULE_MISSED: policy } });
    const schedule = rows[0]!;
    await until('the missed slot handled', async () => {
      const s = await scheduleRow(cluster);
      return s.last_run_at?.getTime() === schedule.missed.getTime() && s.next_run_at!.getTime() > Date.now();
    });
    return schedule;
  }

  it('skips it with QUIRE_SCHEDULE_MISSED=skip', async () => {
    await cluster.serve({ engine: true, name: 'first' });
    await until(
      'the schedule planned',
      async () => (await cluster.db.query(`SELECT 1 FROM schedules WHERE next_run_at IS NOT NULL`)).rowCount,
    );
    const { id } = await restartAfterMissedSlot('skip');
    expect(await firedJobs(cluster, id)).toEqual([]);
    const row = await scheduleRow(cluster);
    expect(row).toMatchObject({ last_result: 'skipped', last_job_id: null });
    expect(row.next_run_at!.toISOString()).toMatch(/-01-01T/);
    expect(await firings(cluster, id)).toEqual([]);
  });

  it('runs it once on start by default (once), however long ago', async () => {
    const { id, missed } = await restartAfterMissedSlot('once');
    const jobs = await firedJobs(cluster, id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.idempotency_key).toBe(`schedule:${id}@${missed.toISOString()}`);
    expect((await cluster.finished(jobs[0]!.id)).state).toBe('done');
    expect((await firings(cluster, id)).map((f) => f.fire_at.getTime())).toEqual([missed.getTime()]);
  });
});
