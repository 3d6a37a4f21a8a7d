// Engine figures on real processes and PostgreSQL (issue 3, "Done when"): jobs per second for
// one-step jobs with 1 and 4 worker processes, per-step overhead (a 10-step job of no-op steps:
// its duration / 10), and claim latency (trigger → date_running, p50/p99).
//
//   npm run build && node bench/engine-throughput.mjs [--jobs 1000] [--deployments 50] [--step-jobs 20] [--latency-jobs 200]
//       [--only throughput|overhead|latency]
//
// Times come from PostgreSQL's clock (date_created, date_running, date_done), not this process's.
import { Cluster, inventory, percentile, args, sleep, until } from './engine-cluster.mjs';

const opts = args({ jobs: 1000, deployments: 50, stepJobs: 20, latencyJobs: 200, concurrency: 8, only: '' });

const noopSteps = (n, kind) =>
  Array.from({ length: n }, (_, i) =>
    kind === 'shell'
      ? `  - { name: s${i + 1}, kind: shell, run: "true" }`
      : `  - { name: s${i + 1}, kind: handler, handler: demo.plan-layout }`,
  ).join('\n');
const book = (name, steps) => `name: b.${name}\nkind: b\naction: ${name}\nunique: none\nsteps:\n${steps}\n`;

const BOOKS = {
  'inventory.yaml': inventory('b', opts.deployments),
  'one-shell.book.yaml': book('one-shell', noopSteps(1, 'shell')),
  'one-handler.book.yaml': book('one-handler', noopSteps(1, 'handler')),
  'ten-handler.book.yaml': book('ten-handler', noopSteps(10, 'handler')),
  'ten-shell.book.yaml': book('ten-shell', noopSteps(10, 'shell')),
};

const cluster = await Cluster.start({
  books: BOOKS,
  name: 'throughput',
  env: { QUIRE_CHANNELS: 'default:64', QUIRE_WORKER_CONCURRENCY: String(opts.concurrency) },
});
const figures = [];
const report = (line) => {
  figures.push(line);
  console.log(line);
};

async function allFinal(ids, ms = 600_000) {
  await until(
    `${ids.length} jobs to end`,
    async () =>
      (await cluster.count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND state IN ('done', 'error', 'cancel')`, [ids])) ===
      ids.length,
    ms,
    200,
  );
  const bad = await cluster.count(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND state <> 'done'`, [ids]);
  if (bad) throw new Error(`${bad} job(s) did not end done`);
}

async function span(ids) {
  const { rows } = await cluster.db.query(
    `SELECT EXTRACT(EPOCH FROM max(date_done) - min(date_running))::float AS s FROM jobs WHERE id = ANY($1)`,
    [ids],
  );
  return rows[0].s;
}

/** A backlog of one-step jobs, drained by `workers` processes started together. */
async function throughput(action, workers) {
  const ids = await cluster.triggerMany(opts.jobs, (i) => [`d${1 + (i % opts.deployments)}`, action]);
  const procs = await Promise.all(Array.from({ length: workers }, (_, i) => cluster.worker(`${action}-w${i + 1}`)));
  await allFinal(ids);
  const seconds = await span(ids);
  await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  report(
    `jobs/s, one-step ${action.replace('one-', '')} jobs, ${workers} worker process(es) × concurrency ${opts.concurrency}: ${(opts.jobs / seconds).toFixed(0)} (${opts.jobs} jobs in ${seconds.toFixed(2)} s)`,
  );
}

/** 10-step jobs of no-op steps, one at a time on one deployment: duration / 10. */
async function stepOverhead(action) {
  const proc = await cluster.worker(`${action}-w`);
  const ids = await cluster.triggerMany(opts.stepJobs, () => ['d1', action], 1);
  await allFinal(ids);
  const { rows } = await cluster.db.query(
    `SELECT EXTRACT(EPOCH FROM date_done - date_running)::float * 1000 AS ms FROM jobs WHERE id = ANY($1)`,
    [ids],
  );
  const perStep = rows.map((r) => r.ms / 10);
  await proc.kill('SIGTERM');
  report(
    `per-step overhead, 10-step job of no-op ${action.replace('ten-', '')} steps: p50 ${percentile(perStep, 50).toFixed(2)} ms/step, p99 ${percentile(perStep, 99).toFixed(2)} ms/step (${ids.length} jobs)`,
  );
}

/** Idle workers; jobs triggered one by one, ~20 per second: trigger → claim. */
async function claimLatency(workers) {
  const procs = await Promise.all(Array.from({ length: workers }, (_, i) => cluster.worker(`lat-w${i + 1}`)));
  await sleep(500);
  const ids = [];
  for (let i = 0; i < opts.latencyJobs; i++) {
    ids.push(await cluster.trigger(`d${1 + (i % opts.deployments)}`, 'one-handler'));
    await sleep(50);
  }
  await allFinal(ids);
  const { rows } = await cluster.db.query(
    `SELECT EXTRACT(EPOCH FROM date_running - date_created)::float * 1000 AS ms FROM jobs WHERE id = ANY($1)`,
    [ids],
  );
  const ms = rows.map((r) => r.ms);
  await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  report(
    `claim latency (trigger → date_running), ${workers} idle worker process(es): p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms (${ms.length} jobs)`,
  );
}

try {
  await cluster.serve();
  console.log(
    `engine throughput: PostgreSQL ${cluster.url.replace(/\/\/[^@]*@/, '//')}, ${opts.deployments} deployments, QUIRE_CHANNELS=default:64\n`,
  );
  // --only overhead|throughput|latency runs one part (all by default).
  const part = (name) => !opts.only || opts.only === name;
  if (part('throughput')) {
    await throughput('one-shell', 1);
    await throughput('one-shell', 4);
    await throughput('one-handler', 1);
    await throughput('one-handler', 4);
  }
  if (part('overhead')) {
    await stepOverhead('ten-handler');
    await stepOverhead('ten-shell');
  }
  if (part('latency')) {
    await claimLatency(1);
    await claimLatency(4);
  }
} catch (error) {
  console.error(`engine-throughput failed: ${error.stack ?? error}`);
  for (const p of cluster.processes) console.error(`--- ${p.name}\n${p.buffer.slice(-2000)}`);
  process.exitCode = 1;
} finally {
  await cluster.close();
}
