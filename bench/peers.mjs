// Quire against its peers, graphile-worker 0.16.6 and pg-boss 10.4.2, on the same PostgreSQL in
// one run (DESIGN.md, "Benchmarks"): each system in a fresh database of its own, the same
// workload, the same number of worker processes and the same concurrency per process.
//
//   npm run build && node bench/peers.mjs [--jobs 2000] [--workers 1,4] [--concurrency 8]
//       [--latency-jobs 200] [--latency-every-ms 20] [--systems quire,graphile-worker,pg-boss]
//
// Quire does more per job than the peers: a trigger compiles the book into a job snapshot with
// its step rows; a claim takes a lease (under the claim lock, checking per-deployment locks and
// channel capacity); every state change of the job and its step writes a deploy_event in the
// same transaction. The peers insert one row and delete (graphile-worker) or update (pg-boss)
// it. So the ratios below are the price of those guarantees, not a like-for-like race.
//
// Workload, per system and per worker-process count:
//   drain    --jobs one-step no-op jobs enqueued up front (16 requests at a time, each system's
//            own single-job API: Quire's REST trigger, graphile-worker's addJob, pg-boss's
//            send), then the worker processes start and drain them. jobs/s = jobs / (last
//            completion - first start). Quire's jobs are held (run_at ahead) until all its
//            worker processes are up, then released: its workers take seconds to boot, the
//            peers' a fraction of one (see quire() below).
//   latency  then, the same (now idle) workers: --latency-jobs jobs enqueued one by one every
//            --latency-every-ms; each from just before the enqueue call (this process's clock)
//            to the start of its handler.
//   RSS      the peak RSS (VmHWM) of each worker process after both phases; the largest shown.
// All times are wall-clock readings of this one host (Node's Date.now() and PostgreSQL's
// timestamps read the same clock), taken where each system records them:
//   Quire            start = jobs.date_running (claim), completion = jobs.date_done; handler
//                    start = job_steps.date_started. The `quire serve` process that takes the
//                    triggers is not a worker and is not in RSS.
//   graphile-worker  start = handler start, completion = its 'job:complete' event (after the
//                    completing DELETE), both in the worker processes.
//   pg-boss          start = pgboss.job.started_on, completion = completed_on; handler start in
//                    the worker process.
// Worker setup: Quire as engine-throughput.mjs runs it (QUIRE_WORKER_CONCURRENCY, channel
// capacity 64, one `demo.plan-layout` handler step, 50 deployments). graphile-worker: run()
// with `concurrency`, logging off. pg-boss: `concurrency` work() loops of batchSize
// --pgboss-batch (default 1) polling every --pgboss-poll-seconds (default 0.5, the smallest it
// allows). pg-boss 10 has no LISTEN/NOTIFY and each work() loop waits out its polling interval
// after every fetch, even a full one, so its drain rate is capped near concurrency × batch /
// interval per process (16 jobs/s here): its row measures that design, not PostgreSQL.
//
// Peers' workers are child processes of this script (`--child`, with an IPC channel); Quire's are
// `quire worker` processes (bench/engine-cluster.mjs). All are killed and every database dropped
// on exit, on SIGINT/SIGTERM and after --timeout seconds. Nothing listens except `quire serve`,
// on 127.0.0.1.
//
// Figures, 2026-12-01, dev machine: 2 cores (AMD EPYC), 23 GB, PostgreSQL 15.20, Node 20.20.2;
// Quire built from commit 7228017; defaults (2000 jobs, concurrency 8, 200 latency jobs / 20 ms):
//
//   system           workers   jobs/s   p50 ms   p99 ms  RSS MB
//   quire                  1       48     25.1     92.0     200
//   graphile-worker        1      706      8.0     35.0      87
//   pg-boss                1       16   3894.0   7391.0      64
//   quire                  4       34     61.9    200.0     155
//   graphile-worker        4      833      8.0     25.0      73
//   pg-boss                4       64     81.0    297.0      65
//
//   Quire / peer          jobs/s    p50     p99    RSS
//   1 vs graphile-worker   0.07×   3.14×   2.63×  2.30×
//   1 vs pg-boss           3.01×   0.01×   0.01×  3.11×
//   4 vs graphile-worker   0.04×   7.74×   8.00×  2.13×
//   4 vs pg-boss           0.53×   0.76×   0.67×  2.37×
//
// 2026-12-03 12:48, quiet box (load 0.8-2.1), commit 427c63c, --jobs 1000 --workers 1,4
// --systems quire,graphile-worker (Quire's workers at QUIRE_LOG_LEVEL=warn, as graphile-worker's
// logger is off here):
//
//   system           workers   jobs/s   p50 ms   p99 ms  RSS MB
//   quire                  1      265     13.1     20.1     164
//   graphile-worker        1     1984      3.0      5.0      77
//   quire                  4      166     15.0     24.0     148
//   graphile-worker        4     1786      3.0     10.0      68
//
// 2026-12-03 14:55, commit 6528d71, --jobs 2000 --workers 1,4 --systems quire,graphile-worker
// (the box slower for both than at 12:48; load 2.3-3.2):
//
//   system           workers   jobs/s   p50 ms   p99 ms  RSS MB
//   quire                  1      331     12.6     19.6     177
//   graphile-worker        1     1643      3.0      7.0      81
//   quire                  4      186     20.1     36.7     145
//   graphile-worker        4     1306      4.0      7.0      73
//
// The same command at 15:08 and 15:12, with Quire's jobs held until its workers are up (see
// quire() below; load 3.3-3.9): Quire 250 / 166 and 257 / 185 jobs/s, graphile-worker 1,654 /
// 1,080 and 1,505 / 1,126: 0.15× / 0.15× and 0.17× / 0.16×. Four Quire workers still drain
// slower than one here, while a drain of 1,000 held jobs on a fresh database, all workers up
// for a second first, gave 221-254 jobs/s with one and 211-236 with four.
//
// 2026-12-03 17:25, commit 6841998 (the claim's reads follow its room; the `quire` command
// caps the young generation, and this script starts Quire's workers with that command's flags),
// same command; the box loaded from outside this checkout (load 3.0-3.9):
//
//   system           workers   jobs/s   p50 ms   p99 ms  RSS MB
//   quire                  1      292     15.3     27.0     123
//   graphile-worker        1     1627      3.0      9.0      77
//   quire                  4      170     18.7     46.8     115
//   graphile-worker        4      672      5.0     16.0      76
//
// fa3f2d6 (the code before it) right after: Quire 254 / 170, graphile-worker 1,585 / 879, RSS
// 2.25×. Sampling pg_stat_activity through a 4-worker drain: backends waited for the NOTIFY
// lock (Lock:object) in 8,100 samples, the claim lock 3,400, a WAL flush 1,200 (README).
//
// 2026-12-03 20:15-20:25, commit d44e17e (a step's start, a step boundary and a job's end that meet
// in flight share a round trip and a commit; the old generation's growth bounded), same
// command, load 2.0-3.7:
//
//   system           workers   jobs/s   p50 ms   p99 ms  RSS MB
//   quire                  1      375     13.4     23.4     113
//   graphile-worker        1     1726      3.0      7.0      78
//   quire                  4      225     22.6     54.1     110
//   graphile-worker        4      846      4.0     13.0      74
//
// Two runs before it: 0.17× / 0.35× and 0.19× / 0.26×, RSS 1.36-1.49×. ec7bc41 alternated with
// it (Quire only): 215-262 / 122-164 jobs/s against 239-375 / 173-236. Per one-step job Quire
// now sends 1.7 statements and commits 1.4 transactions (bench/profile-job.mjs).
//
// Before d44e17e: per one-step job Quire sent 2.7 statements: a step's start and the job's end as one
// prepared statement each, and per ~3.5 jobs a claim transaction of two round trips (BEGIN,
// the claim lock, the claim and the claimed steps; the `running` events with COMMIT). Lessons
// are inserted as samples and folded each second: every job end had waited for the previous
// end's lock on the book step's one history row. What bounds the drain now is PostgreSQL's CPU
// (3.2 ms a job: no update of `jobs` is HOT, four events with their NOTIFY) and the NOTIFY
// lock, which serialises notifying commits with their WAL flush (README, "Hot path").
//
// Before 6528d71: Quire sent 3.8 statements: the step's start and
// the job's end as one autocommitted statement each (lease check, writes, history, events and
// their NOTIFY), and a claim transaction per ~3 jobs (BEGIN with the claim lock, the claim, the
// steps, the `running` events, COMMIT). graphile-worker sends about two. The claim, serialised
// by the claim lock, bounded the drain then; the worker's CPU profile was mostly socket
// writes to PostgreSQL (each round trip wakes a backend on this 2-core VM).
//
// The machine was shared: other sessions ran jest e2e suites on it around this run (load average
// 3.9 as it started, 8 a few minutes after it ended), so the absolute figures are noisy; the
// script now prints the load average at its start and end.
//
// Profile, 2026-12-03 (issue 9), commit 1e024f4, `node bench/profile-job.mjs --jobs 1000
// --explain yes --cpu-prof DIR` (one worker, concurrency 8, 1000 one-step jobs queued; load
// average 13-18 from other sessions' tests): per one-step job the worker sent 42.9 statements
// and the database committed 18.5 transactions: 4 written transactions (claim shared by ~2
// jobs; step start; step end; job end), each START/set_config/lease check/COMMIT; 5 events,
// each with its own progress SELECT; 5.5 `SELECT pg_notify` sent alone (a commit each, after
// the transaction they announce); plus steps, history, output and date_done reads. The claim
// with 1000 queued on 50 deployments: planning 10.8 ms cold (0.6 ms after), execution 13-35 ms,
// most of it the ranking of every queued job per lock (live CTE, window sort); it runs under
// the global claim lock, so claims of all workers queue behind it. CPU profile of the worker:
// 49% idle (waiting on PostgreSQL), 16% writev (sends to PostgreSQL), 3.6% GC, the rest
// spread thin: the worker waits on the database; it is not CPU bound.
// Baseline (same day, commit 1e024f4, `--jobs 1000 --workers 1,4 --systems quire,graphile-worker`,
// load average 12.9 at start, 13.1 at end):
//
//   system           workers   jobs/s   p50 ms   p99 ms  RSS MB
//   quire                  1       76     29.0     87.2     166
//   graphile-worker        1      835      7.0     30.0      77
//   quire                  4       65     63.8    172.9     146
//   graphile-worker        4     1115      9.0     26.0      69
//   1 vs graphile-worker: jobs/s 0.09×, p50 4.15×, p99 2.91×, RSS 2.15×
//   4 vs graphile-worker: jobs/s 0.06×, p50 7.09×, p99 6.65×, RSS 2.11×
//
// Quire in the database (created → claimed): p50 11.1 / p99 46.6 ms with 1 worker, 31.4 / 141 ms
// with 4. Quire is slower with 4 workers than with 1: claims are serialised by the claim lock and
// each costs more with a 2000-job backlog, and 4 Nest processes share 2 cores. pg-boss with one
// process is saturated by the latency phase (50 jobs/s offered, 16 jobs/s possible), so its
// 1-worker latency is queueing, not pickup; with --pgboss-batch 8 it drained 128 jobs/s
// (8 loops × 8 jobs / 0.5 s) at p50 221 / p99 460 ms, with up to 64 jobs in flight.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') await child(JSON.parse(process.env.PEERS_CHILD));
else await main();

// ---------------------------------------------------------------------------------------------
// Worker processes of the peers.

async function child({ system, url, concurrency, queue, batch, pollSeconds }) {
  let first = Infinity;
  let last = 0;
  let completed = 0;
  let errors = 0;
  let latencies = [];
  const started = (payload, now) => {
    if (now < first) first = now;
    if (payload && typeof payload.t === 'number') latencies.push(now - payload.t);
  };
  let stop;
  if (system === 'graphile-worker') {
    const { run, Logger } = await import('graphile-worker');
    const runner = await run({
      connectionString: url,
      concurrency,
      noHandleSignals: true,
      logger: new Logger(() => () => undefined),
      taskList: { noop: async (payload) => started(payload, Date.now()) },
    });
    runner.events.on('job:complete', ({ error }) => {
      last = Date.now();
      if (error) errors++;
      else completed++;
    });
    stop = () => runner.stop();
  } else if (system === 'pg-boss') {
    const { default: PgBoss } = await import('pg-boss');
    const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false, migrate: false });
    boss.on('error', (error) => {
      errors++;
      console.error(`pg-boss: ${error.message}`);
    });
    await boss.start();
    for (let i = 0; i < concurrency; i++)
      await boss.work(queue, { batchSize: batch, pollingIntervalSeconds: pollSeconds }, async (jobs) => {
        const now = Date.now();
        for (const job of jobs) started(job.data, now);
      });
    stop = () => boss.stop({ graceful: true, wait: true, timeout: 5000 });
  } else throw new Error(`unknown system ${system}`);

  process.on('disconnect', () => process.exit(0));
  process.on('message', (message) => {
    if (message.type === 'stats') {
      process.send({ type: 'stats', first, last, completed, errors, latencies });
    } else if (message.type === 'reset') {
      [first, last, completed, errors, latencies] = [Infinity, 0, 0, 0, []];
      process.send({ type: 'reset' });
    } else if (message.type === 'stop') {
      const force = setTimeout(() => process.exit(0), 8000);
      force.unref();
      void stop()
        .catch(() => undefined)
        .then(() => process.exit(0));
    }
  });
  process.send({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------------
// The bench.

async function main() {
  const { Cluster, ADMIN_URL, inventory, percentile, args, sleep, until } = await import('./engine-cluster.mjs');
  const opts = args({
    jobs: 2000,
    workers: '1,4',
    concurrency: 8,
    latencyJobs: 200,
    latencyEveryMs: 20,
    deployments: 50,
    systems: 'quire,graphile-worker,pg-boss',
    pgbossBatch: 1,
    pgbossPollSeconds: 0.5,
    timeout: 1800,
  });
  const workerCounts = opts.workers.split(',').map(Number);
  const systems = opts.systems.split(',');

  // Cleanup: forked children, the Quire cluster, the peers' databases; on any way out.
  const children = new Set();
  const databases = new Set();
  let cluster = null;
  let cleaning = null;
  const killChildren = () => {
    for (const c of children) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', killChildren);
  const adminUrl = (database) => {
    const u = new URL(ADMIN_URL);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: adminUrl('postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const cleanup = () =>
    (cleaning ??= (async () => {
      killChildren();
      if (cluster) await cluster.close().catch((e) => console.error(`quire cluster close: ${e.message}`));
      for (const db of databases)
        await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch((e) => console.error(`drop ${db}: ${e.message}`));
    })());
  // engine-cluster.mjs exits at once on a signal; here the databases are dropped first.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.removeAllListeners(sig);
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const watchdog = setTimeout(() => {
    console.error(`peers: still running after ${opts.timeout} s, giving up`);
    void cleanup().finally(() => process.exit(1));
  }, opts.timeout * 1000);
  watchdog.unref();

  const rssOf = (pid) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
  };
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

  /** Runs `fn(i)` for i < count, `parallel` at a time. */
  const many = async (count, fn, parallel = 16) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) await fn(next++);
      }),
    );
  };

  /** Enqueues latency jobs one by one, every `latencyEveryMs`; `enqueue(i, t)` gets the time. */
  const trickle = async (enqueue) => {
    for (let i = 0; i < opts.latencyJobs; i++) {
      await enqueue(i, Date.now());
      await sleep(opts.latencyEveryMs);
    }
  };

  // --- Quire ---------------------------------------------------------------------------------

  async function quire(workers) {
    if (!cluster) {
      const book = `name: b.one-handler\nkind: b\naction: one-handler\nunique: none\nsteps:\n  - { name: s1, kind: handler, handler: demo.plan-layout }\n`;
      cluster = await Cluster.start({
        books: { 'inventory.yaml': inventory('b', opts.deployments), 'one-handler.book.yaml': book },
        name: 'peers',
        env: { QUIRE_CHANNELS: 'default:64', QUIRE_WORKER_CONCURRENCY: String(opts.concurrency), QUIRE_HOST: '127.0.0.1' },
      });
      await cluster.serve();
    }
    const target = (i) => `d${1 + (i % opts.deployments)}`;
    const allDone = async (ids) => {
      await until(
        `${ids.length} Quire jobs to end`,
        async () =>
          (await cluster.count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND state IN ('done', 'error', 'cancel')`, [
            ids,
          ])) === ids.length,
        600_000,
        100,
      );
      const bad = await cluster.count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND state <> 'done'`, [ids]);
      if (bad) throw new Error(`${bad} Quire job(s) did not end done`);
    };

    const ids = await cluster.triggerMany(opts.jobs, (i) => [target(i), 'one-handler']);
    // Held until every worker process is up, then released at once: a `quire worker` boots
    // in 1-3 s of CPU, and with 4 starting while the first one drained, the 4-worker figure
    // measured three boots beside one worker (2026-12-03: 127-186 jobs/s against 211-236 with
    // the jobs held, bench/peers.mjs and a drain of the same 1,000 jobs). graphile-worker's
    // workers are up in about 0.1 s; its jobs are not held.
    await cluster.db.query(`UPDATE jobs SET run_at = now() + interval '1 hour' WHERE id = ANY($1)`, [ids]);
    // Workers log warnings and errors only, as graphile-worker runs here with its logger off: a
    // line a job to a pipe cost the worker about 0.18 ms a job (a synchronous write, CPU profile).
    const procs = await Promise.all(Array.from({ length: workers }, (_, i) => cluster.worker(`w${workers}-${i + 1}`, { QUIRE_LOG_LEVEL: 'warn' })));
    await sleep(1000); // and the rest of their start-up (first sweeps, pool connections)
    await cluster.db.query(`UPDATE jobs SET run_at = now() WHERE id = ANY($1)`, [ids]);
    await cluster.db.query(`NOTIFY quire_jobs`);
    await allDone(ids);
    const { rows } = await cluster.db.query(
      `SELECT EXTRACT(EPOCH FROM max(date_done) - min(date_running))::float AS s FROM jobs WHERE id = ANY($1)`,
      [ids],
    );
    const seconds = rows[0].s;

    const sent = new Map();
    await trickle(async (i, t) => sent.set(await cluster.trigger(target(i), 'one-handler'), t));
    const latIds = [...sent.keys()];
    await allDone(latIds);
    const lat = await cluster.db.query(
      `SELECT j.id, EXTRACT(EPOCH FROM s.date_started)::float * 1000 AS started,
              EXTRACT(EPOCH FROM j.date_running - j.date_created)::float * 1000 AS claim
       FROM jobs j JOIN job_steps s ON s.job_id = j.id WHERE j.id = ANY($1)`,
      [latIds],
    );
    const latencies = lat.rows.map((r) => r.started - sent.get(r.id));
    const claims = lat.rows.map((r) => r.claim);
    const rss = Math.max(...procs.map((p) => rssOf(p.pid)));
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    console.log(
      `  quire: in the database, created → claimed p50 ${fmt(percentile(claims, 50), 1)} ms, p99 ${fmt(percentile(claims, 99), 1)} ms`,
    );
    return { seconds, latencies, rss };
  }

  // --- the peers -----------------------------------------------------------------------------

  const peerDb = {};
  async function database(system) {
    if (peerDb[system]) return peerDb[system];
    const name = `quire_peer_${system.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
    await admin(`CREATE DATABASE ${name}`);
    databases.add(name);
    const url = adminUrl(name);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => undefined);
    let api;
    if (system === 'graphile-worker') {
      const { runMigrations, makeWorkerUtils, Logger } = await import('graphile-worker');
      const logger = new Logger(() => () => undefined);
      await runMigrations({ connectionString: url, logger });
      const utils = await makeWorkerUtils({ connectionString: url, logger });
      api = {
        prepare: async () => undefined,
        enqueue: (_queue, payload) => utils.addJob('noop', payload),
        remaining: async () => (await pool.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs`)).rows[0].n,
        span: null,
        close: () => utils.release(),
      };
    } else {
      const { default: PgBoss } = await import('pg-boss');
      const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
      boss.on('error', (error) => console.error(`pg-boss: ${error.message}`));
      await boss.start();
      api = {
        prepare: (queue) => boss.createQueue(queue),
        enqueue: (queue, payload) => boss.send(queue, payload),
        remaining: async (queue) => {
          const { rows } = await pool.query(
            `SELECT count(*) FILTER (WHERE state <> 'completed')::int AS n, count(*) FILTER (WHERE state IN ('failed', 'cancelled'))::int AS bad
             FROM pgboss.job WHERE name = $1`,
            [queue],
          );
          if (rows[0].bad) throw new Error(`${rows[0].bad} pg-boss job(s) failed`);
          return rows[0].n;
        },
        span: async (queue) => {
          const { rows } = await pool.query(
            `SELECT EXTRACT(EPOCH FROM max(completed_on) - min(started_on))::float AS s FROM pgboss.job WHERE name = $1`,
            [queue],
          );
          return rows[0].s;
        },
        close: () => boss.stop({ graceful: false, wait: true }),
      };
    }
    peerDb[system] = { url, pool, api };
    return peerDb[system];
  }

  function spawnChild(config) {
    const c = fork(SELF, ['--child'], {
      env: { ...process.env, NO_LOG_SUCCESS: '1', PEERS_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    children.add(c);
    let output = '';
    const keep = (chunk) => (output = (output + chunk.toString('utf8')).slice(-4000));
    c.stdout.on('data', keep);
    c.stderr.on('data', keep);
    const waiting = new Map();
    c.on('message', (m) => {
      waiting.get(m.type)?.(m);
      waiting.delete(m.type);
    });
    const exited = new Promise((resolve) =>
      c.once('exit', (code, signal) => {
        children.delete(c);
        for (const [, settle] of waiting) settle({ type: 'exit' });
        resolve({ code, signal });
      }),
    );
    const expect = (type, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${config.system} child: no ${type} in ${ms} ms\n${output}`)), ms);
        waiting.set(type, (m) => {
          clearTimeout(timer);
          if (m.type === 'exit') reject(new Error(`${config.system} child exited\n${output}`));
          else resolve(m);
        });
      });
    const ask = (type, reply = type) => {
      const answer = expect(reply);
      c.send({ type });
      return answer;
    };
    const ready = expect('ready');
    return {
      pid: c.pid,
      ready,
      ask,
      stop: async () => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        c.send({ type: 'stop' });
        const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  async function peer(system, workers) {
    const { url, api } = await database(system);
    const queue = `noop_w${workers}`;
    await api.prepare(queue);
    await many(opts.jobs, (i) => api.enqueue(queue, { i }));
    const config = { system, url, concurrency: opts.concurrency, queue, batch: opts.pgbossBatch, pollSeconds: opts.pgbossPollSeconds };
    const procs = Array.from({ length: workers }, () => spawnChild(config));
    await Promise.all(procs.map((p) => p.ready));
    await until(`${system} to drain ${opts.jobs} jobs`, async () => (await api.remaining(queue)) === 0, 900_000, 100);
    const drain = await Promise.all(procs.map((p) => p.ask('stats')));
    const errors = drain.reduce((n, s) => n + s.errors, 0);
    if (errors) throw new Error(`${system}: ${errors} job error(s)`);
    const seconds = api.span
      ? await api.span(queue)
      : (Math.max(...drain.map((s) => s.last)) - Math.min(...drain.map((s) => s.first))) / 1000;

    await Promise.all(procs.map((p) => p.ask('reset')));
    await trickle((i, t) => api.enqueue(queue, { i, t }));
    await until(`${system} to run the latency jobs`, async () => (await api.remaining(queue)) === 0, 120_000, 50);
    // the last handler may have started after the row changed: give it a moment to report
    let latencies = [];
    await until(
      `${system} to report ${opts.latencyJobs} handler starts`,
      async () => {
        latencies = (await Promise.all(procs.map((p) => p.ask('stats')))).flatMap((s) => s.latencies);
        return latencies.length >= opts.latencyJobs;
      },
      10_000,
      50,
    );
    const rss = Math.max(...procs.map((p) => rssOf(p.pid)));
    await Promise.all(procs.map((p) => p.stop()));
    return { seconds, latencies, rss };
  }

  // --- run -----------------------------------------------------------------------------------

  const results = [];
  try {
    console.log(
      `peers: PostgreSQL ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')}, ${opts.jobs} one-step no-op jobs, ` +
        `worker processes ${workerCounts.join(' and ')} × concurrency ${opts.concurrency}, ` +
        `latency: ${opts.latencyJobs} jobs one every ${opts.latencyEveryMs} ms; load average ${load()}\n`,
    );
    for (const workers of workerCounts) {
      for (const system of systems) {
        const started = Date.now();
        const r = system === 'quire' ? await quire(workers) : await peer(system, workers);
        const row = {
          system,
          workers,
          rate: opts.jobs / r.seconds,
          p50: percentile(r.latencies, 50),
          p99: percentile(r.latencies, 99),
          rss: r.rss,
        };
        results.push(row);
        console.log(
          `  ${system}, ${workers} worker(s): ${fmt(row.rate)} jobs/s (${opts.jobs} in ${fmt(r.seconds, 2)} s), ` +
            `latency p50 ${fmt(row.p50, 1)} ms p99 ${fmt(row.p99, 1)} ms (${r.latencies.length}), RSS ${fmt(row.rss)} MB ` +
            `[${fmt((Date.now() - started) / 1000, 0)} s]`,
        );
      }
    }

    const pad = (s, n) => String(s).padEnd(n);
    const lpad = (s, n) => String(s).padStart(n);
    console.log(
      `\n${pad('system', 16)}${lpad('workers', 8)}${lpad('jobs/s', 9)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('RSS MB', 8)}`,
    );
    for (const r of results)
      console.log(
        `${pad(r.system, 16)}${lpad(r.workers, 8)}${lpad(fmt(r.rate), 9)}${lpad(fmt(r.p50, 1), 9)}${lpad(fmt(r.p99, 1), 9)}${lpad(fmt(r.rss), 8)}`,
      );
    const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '-');
    console.log('\nQuire / peer (jobs/s: above 1 is faster; latency and RSS: above 1 is more)');
    for (const workers of workerCounts) {
      const q = results.find((r) => r.system === 'quire' && r.workers === workers);
      if (!q) continue;
      for (const p of results.filter((r) => r.system !== 'quire' && r.workers === workers))
        console.log(
          `  ${workers} worker(s) vs ${pad(p.system + ':', 16)} jobs/s ${ratio(q.rate, p.rate)}, ` +
            `p50 ${ratio(q.p50, p.p50)}, p99 ${ratio(q.p99, p.p99)}, RSS ${ratio(q.rss, p.rss)}`,
        );
    }
    console.log(`\nload average at the end ${load()} (${os.availableParallelism()} cores)`);
  } catch (error) {
    if (cleaning) return; // interrupted: cleanup() is under way and exits
    console.error(`peers failed: ${error.stack ?? error}`);
    if (cluster) for (const p of cluster.processes) if (p.buffer) console.error(`--- ${p.name}\n${p.buffer.slice(-2000)}`);
    process.exitCode = 1;
  } finally {
    for (const { pool, api } of Object.values(peerDb)) {
      await api.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
    }
    await cleanup();
  }
}
