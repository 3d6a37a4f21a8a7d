// The trigger path, counted (issue 9, the fleet scenario): N API triggers on N deployments
// against one `quire serve` whose pg statements bench/lib/count-queries.mjs counts, and its CPU
// profile (--cpu-prof) in --prof-dir. Prints triggers/s and the statements per trigger.
//
//   npm run build && node bench/profile-trigger.mjs [--triggers 1000] [--concurrency 32] [--prof-dir /tmp/quire-trigger-prof]
//
// Measured 2026-12-03 on the shared 2-core box, 1,000 triggers: before (f24b087) 20.5
// statements per trigger, 97/s; after (this branch) 16.4, 105-116/s (each figure includes
// 0.3-0.4 of the event feed's polling, which is not the trigger's). The profile's largest item
// was pg's socket writes (writev, 24% of the process's time, 0.18 ms a statement): round trips,
// not JavaScript, set the rate, which is why 10,000 deployments go through the fan-out
// (`POST /api/clusters/{c}/deployments/actions/{a}`, bench/fleet.mjs) instead.
// Left per trigger: the token, the book and its history, the transaction (stall guard,
// deployment lock, job, steps, activity, event, commit), the job and its steps and activity
// for the answer, and the NOTIFY that wakes workers.
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cluster, inventory, args, sleep, until } from './engine-cluster.mjs';

const opts = args({ triggers: 1000, concurrency: 32, profDir: '/tmp/quire-trigger-prof' });
mkdirSync(opts.profDir, { recursive: true });
const BOOK = 'name: f.upgrade\nkind: f\naction: upgrade\nsteps:\n  - { name: s1, kind: handler, handler: demo.plan-layout }\n';
const cluster = await Cluster.start({
  books: { 'inventory.yaml': inventory('f', opts.triggers), 'upgrade.book.yaml': BOOK },
  name: 'trigger',
});
const countFile = `${opts.profDir}/counts.json`;

/** The counts so far: the server writes them on SIGUSR2. */
async function counts(pid) {
  const before = Date.now();
  process.kill(pid, 'SIGUSR2');
  await until('the statement counts', () => {
    try {
      return Date.now() - before > 200 && JSON.parse(readFileSync(countFile, 'utf8'));
    } catch {
      return false;
    }
  });
  return JSON.parse(readFileSync(countFile, 'utf8'));
}

try {
  const counter = fileURLToPath(new URL('./lib/count-queries.mjs', import.meta.url));
  const api = cluster.spawn(
    'serve',
    'api',
    { PORT: '0', QUIRE_ENGINE: 'off', NODE_OPTIONS: `--import ${counter}`, QUIRE_COUNT_FILE: countFile },
    ['--cpu-prof', `--cpu-prof-dir=${opts.profDir}`],
  );
  const [, url] = await api.waitFor(/listening on (http:\/\/\S+)/, 60_000);
  await sleep(1000);
  cluster.apiUrl = url;
  cluster.token = readFileSync(`${cluster.dataDir}/admin-token`, 'utf8').trim();
  const before = await counts(api.pid);
  const t0 = performance.now();
  await cluster.triggerMany(opts.triggers, (i) => [`d${i + 1}`, 'upgrade'], opts.concurrency);
  const seconds = (performance.now() - t0) / 1000;
  const after = await counts(api.pid);
  const rows = Object.entries(after)
    .map(([statement, n]) => [(n - (before[statement] ?? 0)) / opts.triggers, statement])
    .filter(([per]) => per > 0)
    .sort((a, b) => b[0] - a[0]);
  const total = rows.reduce((sum, [per]) => sum + per, 0);
  console.log(
    `${opts.triggers} triggers, ${opts.concurrency} in flight: ${seconds.toFixed(2)} s (${(opts.triggers / seconds).toFixed(0)}/s); ${total.toFixed(1)} statements per trigger`,
  );
  for (const [per, statement] of rows) console.log(`${per.toFixed(2)}  ${statement}`);
  // SIGINT lets node write the CPU profile on its way out.
  await api.kill('SIGINT');
  console.log(`CPU profile in ${opts.profDir}`);
} catch (error) {
  console.error(`profile-trigger failed: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cluster.close();
}
