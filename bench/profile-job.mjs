// What one one-step job costs a worker: statements and transactions per job, and where a
// draining worker spends its CPU (issue 9, "profile before and after each change").
//
//   npm run build && node bench/profile-job.mjs [--jobs 500] [--steps 1] [--cpu-prof /tmp/dir] [--explain yes]
//
// One `quire worker` process (concurrency 8) drains --jobs jobs of --steps no-op handler steps
// queued up front. The worker is started with a preload that counts the statements it sends
// (benc./lib/count-queries.mjs); transactions are the database's xact_commit delta over the
// drain (every session of the database: the worker's, and this script's few probes). With
// --cpu-prof the worker writes a V8 CPU profile there on exit; the top self-time functions are
// printed.
//
// 2026-12-03, 2,000 one-step jobs, one worker (box shared, load 4-7): statements per job 26.0
// (f24b087) -> 17.5 (events batched, progress from known steps) -> 11.9 (BEGIN with the lease
// check, one finish statement, one history upsert a step) -> 3.8 (a step's start and the job's
// end each one statement). CPU per job, worker / serve / PostgreSQL: 4.5 / 1.7 / 4.3 ms ->
// 1.9 / 1.0 / 2.0 ms. Profile top items at 3.8: idle (the worker waits on the claim), socket
// writev to PostgreSQL, GC, module loading at start.
//
// 2026-12-03 (third session), quiet box, with pg_stat_statements (track_planning) and
// auto_explain turned on for the measurement only: the job-end statement took 4.95 ms of
// PostgreSQL time, 11 of its 12 ms in the slow plans waiting for the one step_duration_history
// row every job of the book updates (each end waited for the previous end's commit). Planning
// the unnamed hot statements took another 1 ms each. After: lessons inserted as samples and
// folded each second in one statement; the hot statements and the claim prepared; the claim
// walks idx_jobs_queue (it sorted every queued job); a transaction in two round trips.
// 1,000 jobs: drain 8.0 -> 4.25 s; statements per job 3.8 -> 2.7; CPU per job worker / serve /
// PostgreSQL 3.2 / 0.6 / 6.7 -> 2.2 / 0.4 / 3.2 ms. Top of the worker profile now: writev 33%
// of its busy time (a round trip costs ~0.2 ms of worker CPU on this VM), pg parsing 12%, GC 4%.
// 2026-12-03 (fifth session), d44e17e, 6,000 jobs: statements per job 2.7 -> 1.7, commits per
// job 2.4 -> 1.4 (the one-statement writes that meet in flight share a round trip and a
// commit, src/db/write-batcher.ts); worker CPU per job 2.15 -> 1.5-1.9 ms. PostgreSQL's CPU
// read only at the start and the end lost the backends that exited in between (a negative
// figure that day); each backend is now read every 100 ms.
// 2,000 jobs at 1e0f4fb (20:57, load 1.8-2.0), twice: 5.5-6.1 s, 2.0 statements and 1.5
// commits per job (counting the claim's and a new connection's PREPAREs); CPU per job worker
// 1.78-1.93 / serve 0.32-0.39 / PostgreSQL 2.12-2.37 ms. Profile top: idle 37%, writeBuffer 17.5%
// (one socket write per batch now, where writev was 14.5% and writeBuffer 5.2%), GC 10.6%
// (8.1% before the `quire` command's --heap-growing-percent=50: the price of its memory).
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Cluster, inventory, args, until, sleep } from './engine-cluster.mjs';

/** CPU milliseconds a process has used so far (utime + stime, 100 ticks a second); 0 once it is gone. */
function ticks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** CPU milliseconds so far of each of this database's backends ("postgres: user db host(port) ..."), by pid. */
function backendTicks(cluster) {
  const byPid = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(' ').includes(cluster.database)) byPid.set(pid, ticks(pid));
    } catch {
      /* gone */
    }
  }
  return byPid;
}

/**
 * PostgreSQL's CPU over a span: each backend's last reading less its first (0 for one that began
 * in the span), read every 100 ms, so that a backend whose connection closes during the drain
 * (a pool's idle timeout) still counts what it used until shortly before.
 */
function backendCpu(cluster) {
  const first = backendTicks(cluster);
  const last = new Map(first);
  const read = () => {
    for (const [pid, ms] of backendTicks(cluster)) last.set(pid, Math.max(ms, last.get(pid) ?? 0));
  };
  const timer = setInterval(read, 100);
  return () => {
    clearInterval(timer);
    read();
    let total = 0;
    for (const [pid, ms] of last) total += ms - (first.get(pid) ?? 0);
    return total;
  };
}

/** CPU milliseconds used so far by the worker and the serve process. */
function cpuByRole(cluster, workerPid) {
  return { worker: workerPid ? ticks(workerPid) : 0, serve: cluster.servePid ? ticks(cluster.servePid) : 0 };
}

const opts = args({ jobs: 500, steps: 1, deployments: 50, cpuProf: '', explain: 'no', explainFull: 'no' });
const steps = Array.from({ length: opts.steps }, (_, i) => `  - { name: s${i + 1}, kind: handler, handler: demo.plan-layout }`).join('\n');
const cluster = await Cluster.start({
  name: 'profile',
  books: { 'inventory.yaml': inventory('b', opts.deployments), 'p.book.yaml': `name: b.p\nkind: b\naction: p\nunique: none\nsteps:\n${steps}\n` },
  env: { QUIRE_CHANNELS: 'default:64', QUIRE_WORKER_CONCURRENCY: '8' },
});
try {
  await cluster.serve();
  const ids = await cluster.triggerMany(opts.jobs, (i) => [`d${1 + (i % opts.deployments)}`, 'p']);
  if (opts.explain === 'yes') {
    // The claim as a worker runs it, with every job queued and none running; rolled back.
    const { CLAIM_SQL } = await import('../dist/src/engine/job-store.js');
    const client = await cluster.db.connect();
    try {
      await client.query('BEGIN');
      // Once cold (the worker's first claim), then as every later claim runs it.
      for (let i = 0; i < 6; i++) {
        if (i === 3) await client.query('ANALYZE jobs'); // the last three with the statistics autovacuum would gather
        const plan = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${CLAIM_SQL}`, ['explain', JSON.stringify({ default: 64 }), 8, 15, 8]);
        const lines = plan.rows.map((r) => r['QUERY PLAN']);
        if (i === 0 && opts.explainFull === 'yes') console.log(lines.join('\n'));
        console.log(`claim with ${opts.jobs} queued, run ${i + 1}: ${lines.filter((l) => /^(Planning|Execution) Time/.test(l)).join(', ')}`);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }
  const countFile = join(mkdtempSync(join(tmpdir(), 'quire-count-')), 'counts.json');
  const preload = fileURLToPath(new URL('./lib/count-queries.mjs', import.meta.url));
  const nodeArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [];
  const commits = async () => Number((await cluster.db.query('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')).rows[0].xact_commit);
  const before = await commits();
  const worker = await cluster.worker('w1', { QUIRE_LOG_LEVEL: 'warn', NODE_OPTIONS: `--import ${pathToFileURL(preload)}`, QUIRE_COUNT_FILE: countFile }, nodeArgs);
  // after the worker's start-up (module loading is not per job); it claims from here on
  const cpuBefore = cpuByRole(cluster, worker.pid);
  const postgresCpu = backendCpu(cluster);
  const t0 = Date.now();
  await until('the drain', async () => Number(await cluster.count(`SELECT count(*) AS n FROM jobs WHERE id = ANY($1) AND state IN ('done','error','cancel')`, [ids])) === ids.length, 600_000, 100);
  const seconds = (Date.now() - t0) / 1000;
  await sleep(300); // stats collector
  const xacts = (await commits()) - before;
  const cpuAfter = { ...cpuByRole(cluster, worker.pid), postgres: postgresCpu() };
  process.kill(worker.pid, 'SIGUSR2');
  await until('the counts', () => { try { return JSON.parse(readFileSync(countFile, 'utf8')); } catch { return null; } }, 10_000, 50);
  const counts = JSON.parse(readFileSync(countFile, 'utf8'));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`${opts.jobs} jobs × ${opts.steps} step(s) in ${seconds.toFixed(2)} s (load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
  console.log(`statements per job: ${(total / opts.jobs).toFixed(1)}; commits per job (all sessions): ${(xacts / opts.jobs).toFixed(1)}`);
  // CPU per job by process (utime + stime): on a 2-core box the drain is bound by the sum.
  const cpu = Object.entries(cpuAfter).map(([role, ms]) => `${role} ${((ms - (cpuBefore[role] ?? 0)) / opts.jobs).toFixed(2)} ms`);
  console.log(`CPU per job: ${cpu.join(', ')}`);
  for (const [text, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`  ${(n / opts.jobs).toFixed(2).padStart(6)}  ${text}`);
  await worker.kill('SIGTERM');
  if (opts.cpuProf) {
    const file = readdirSync(opts.cpuProf).filter((f) => f.endsWith('.cpuprofile')).sort().pop();
    const profile = JSON.parse(readFileSync(join(opts.cpuProf, file), 'utf8'));
    const self = new Map();
    const dt = profile.timeDeltas;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const time = new Map();
    profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (dt[i] ?? 0)));
    let all = 0;
    for (const [id, us] of time) {
      const f = byId.get(id).callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '')}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + us);
      all += us;
    }
    console.log(`cpu profile ${file}: top self time`);
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${((100 * us) / all).toFixed(1).padStart(5)}%  ${key}`);
  }
} finally {
  await cluster.close();
}
