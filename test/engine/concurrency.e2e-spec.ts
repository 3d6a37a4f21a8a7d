// Many triggers, many jobs, many workers (issue 3, "Prove it"): concurrent triggers of one
// deploy make one job; jobs claimed by four worker processes run exactly once each; jobs of one
// deployment never overlap in time.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { QuireCluster, inventory, until, type QuireProcess } from '../support/processes.js';

/**
 * Jobs in the exactly-once test: 300, enough for every one of 40 deployments to queue several
 * jobs while four workers race for them. Issue 3 asked for 1,000 (QUIRE_E2E_JOBS=1000); on the
 * shared 2-core box, loaded by other test runs, 1,000 triggers alone took over 100 s (issue 11:
 * the work shrinks rather than the test depending on the box's speed). The figure a run used is printed.
 */
const JOBS = Number(process.env.QUIRE_E2E_JOBS ?? 300);
const DEPLOYMENTS = 40;

// Deadlines sized for a slow, loaded 2-core CI box (10 jobs/s, a tenth of an idle one's), so that
// a slow run fails naming what it waited for; jest's timeout for each test sits above their sum.
const SETUP_DEADLINE_MS = 60_000; // a process to start and print that it listens or claims
const ONE_JOB_DEADLINE_MS = 60_000;
const TRIGGER_DEADLINE_MS = 30_000 + JOBS * 250; // every trigger answered (measured loaded: about 10/s)
const DRAIN_DEADLINE_MS = 30_000 + JOBS * 250; // every job ended, after the last trigger
const MARGIN_MS = 30_000;

const DEPLOY = `name: svc.deploy
kind: svc
action: deploy
steps:
  - name: only
    kind: shell
    run: "echo {{job.id}} >> {{deployment.vars.markers}}/deploy.runs; sleep 1"
`;
// One line per run in a shared file (appends under PIPE_BUF are atomic), and a mkdir lock per
// deployment that notices, from inside the steps themselves, two jobs of one deployment at once.
const TICK = `name: svc.tick
kind: svc
action: tick
unique: none
steps:
  - name: only
    kind: shell
    run: >-
      mkdir {{deployment.vars.markers}}/lock.{{deployment.name}} || echo {{job.id}} >> {{deployment.vars.markers}}/overlaps;
      echo {{job.id}} $PPID >> {{deployment.vars.markers}}/tick.runs;
      rmdir {{deployment.vars.markers}}/lock.{{deployment.name}}
`;

describe('engine: concurrent triggers and claims', () => {
  let cluster: QuireCluster;
  const workers: QuireProcess[] = [];

  beforeAll(async () => {
    cluster = await QuireCluster.start({
      books: { 'inventory.yaml': inventory('svc', DEPLOYMENTS), 'svc.deploy.book.yaml': DEPLOY, 'svc.tick.book.yaml': TICK },
      // room for every deployment at once: the per-deployment lock is what must hold them back.
      // A lease sized for a loaded box: with the 3 s test default, a worker process not scheduled
      // for 3 s between its step's end and its commit lost the lease, and the rescued job ran twice
      // (seen once in 9 runs at load 31 on 2 cores). Rescue has tests of its own (leases, crash).
      env: { QUIRE_CHANNELS: 'default:64', QUIRE_LOG_LEVEL: 'log', QUIRE_LEASE_SECONDS: '30' },
    });
    await cluster.serve();
  }, SETUP_DEADLINE_MS + MARGIN_MS);

  afterAll(async () => {
    await cluster?.close();
  });

  const lines = (file: string) => {
    const path = join(cluster.markers, file);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  };

  it('ten concurrent triggers of one deploy create one job, which runs once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => cluster.api('POST', '/api/deployments/d1/actions/deploy', { params: {} })),
    );
    const ids = new Set(answers.map((a) => a.body.job.id as string));
    expect(ids.size).toBe(1);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    const { rows } = await cluster.db.query(`SELECT count(*)::int AS n FROM jobs WHERE book_name = 'svc.deploy'`);
    expect(rows[0].n).toBe(1);

    workers.push(await cluster.worker('w1'));
    const [id] = [...ids];
    expect((await cluster.finished(id!, ONE_JOB_DEADLINE_MS)).state).toBe('done');
    expect(lines('deploy.runs')).toEqual([id]);
  }, SETUP_DEADLINE_MS + ONE_JOB_DEADLINE_MS + MARGIN_MS);

  // Its wait for the drain (150 s) sized for a loaded box; the test's own timeout above it.
  it(`${JOBS} jobs claimed by four worker processes run exactly once each; jobs of one deployment never overlap`, async () => {
    const t0 = Date.now();
    // Triggered while w1 already runs, and three more workers joining: claims race from the start.
    const ids: string[] = [];
    let triggering = true;
    const triggerAll = (async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < JOBS) {
            const i = next++;
            ids.push(await cluster.trigger(`d${1 + (i % DEPLOYMENTS)}`, 'tick'));
          }
        }),
      );
    })().finally(() => (triggering = false));
    workers.push(...(await Promise.all(['w2', 'w3', 'w4'].map((name) => cluster.worker(name)))));
    await until(`${JOBS} triggers to be answered`, () => !triggering, TRIGGER_DEADLINE_MS, 250).catch((error: Error) => {
      throw new Error(`${error.message} (${ids.length} were)`);
    });
    await triggerAll;
    const triggered = Date.now();

    await until(
      `all ${JOBS} jobs to end`,
      async () =>
        (
          await cluster.db.query(
            `SELECT count(*)::int AS n FROM jobs WHERE book_name = 'svc.tick' AND state IN ('done', 'error', 'cancel')`,
          )
        ).rows[0].n === JOBS,
      DRAIN_DEADLINE_MS,
      250,
    );
    const finished = Date.now();

    const { rows: states } = await cluster.db.query(
      `SELECT state, count(*)::int AS n FROM jobs WHERE book_name = 'svc.tick' GROUP BY state`,
    );
    expect(states).toEqual([{ state: 'done', n: JOBS }]);

    // Exactly once: one line per job, no job missing, none twice.
    const runs = lines('tick.runs');
    const perJob = new Map<string, number>();
    for (const id of runs.map((line) => line.split(' ')[0]!)) perJob.set(id, (perJob.get(id) ?? 0) + 1);
    const twice = [...perJob].filter(([, n]) => n !== 1).map(([id]) => id);
    // When a job ran twice or not at all, what the workers said about leases: the first thing to know.
    const said =
      runs.length === JOBS && twice.length === 0
        ? []
        : cluster.logs(100_000).split('\n').filter((line) => twice.some((id) => line.includes(id)) || /rescued|lease/.test(line));
    expect({ runs: runs.length, twice, said }).toEqual({ runs: JOBS, twice: [], said: [] });
    expect(new Set(ids)).toEqual(new Set(perJob.keys()));
    const { rows: attempts } = await cluster.db.query(
      `SELECT count(*)::int AS n FROM job_steps s JOIN jobs j ON j.id = s.job_id WHERE j.book_name = 'svc.tick' AND (s.attempt <> 1 OR s.state <> 'done')`,
    );
    expect(attempts[0].n).toBe(0);

    // All four workers took part: each line names the worker process that spawned the step.
    const byWorker = new Map<number, number>();
    for (const line of runs) byWorker.set(Number(line.split(' ')[1]), (byWorker.get(Number(line.split(' ')[1])) ?? 0) + 1);
    expect([...byWorker.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());

    // Never two jobs of one deployment at once: seen from inside the steps...
    expect(lines('overlaps')).toEqual([]);
    // ...and from the jobs' own times, claim to end, per deployment.
    const { rows: jobs } = await cluster.db.query<{ deployment_id: string; date_running: Date; date_done: Date; date_created: Date }>(
      `SELECT deployment_id, date_created, date_running, date_done FROM jobs WHERE book_name = 'svc.tick' ORDER BY deployment_id, date_running`,
    );
    const overlaps: string[] = [];
    const order: string[] = [];
    for (let i = 1; i < jobs.length; i++) {
      const [prev, cur] = [jobs[i - 1]!, jobs[i]!];
      if (prev.deployment_id !== cur.deployment_id) continue;
      if (cur.date_running < prev.date_done)
        overlaps.push(`${prev.date_running.toISOString()}..${prev.date_done.toISOString()} and ${cur.date_running.toISOString()}`);
      if (cur.date_created < prev.date_created) order.push(cur.deployment_id);
    }
    expect(overlaps).toEqual([]);
    // Jobs of one deployment run in creation order.
    expect(order).toEqual([]);

    console.log(
      `${JOBS} one-step jobs on ${DEPLOYMENTS} deployments, 4 worker processes: triggered in ${triggered - t0} ms, ` +
        `all done ${finished - t0} ms after the first trigger (${((JOBS * 1000) / (finished - t0)).toFixed(0)} jobs/s); ` +
        `runs per worker: ${[...byWorker.values()].join(', ')}`,
    );
  }, SETUP_DEADLINE_MS + TRIGGER_DEADLINE_MS + DRAIN_DEADLINE_MS + MARGIN_MS);
});
