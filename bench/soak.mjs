// Soak (issue 3, "Prove it"): N jobs across 3 worker processes while a random worker is
// SIGKILLed every few seconds (and restarted). Ends when every job is final or the time limit
// passes, then checks every job ended exactly as its book says, none is left unfinished, every
// step ran as often as its attempts say, and jobs of one deployment never overlapped. Prints
// figures; exits 1 on any violation.
//
//   npm run build && node bench/soak.mjs [--jobs 2000] [--workers 3] [--kill-min 2] [--kill-max 5] [--time-limit 900]
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, inventory, args, sleep } from './engine-cluster.mjs';

const opts = args({ jobs: 2000, workers: 3, deployments: 30, killMin: 2, killMax: 5, timeLimit: 900, concurrency: 8 });

const run = (name) => `echo {{job.id}} ${name} >> {{deployment.vars.markers}}/runs`;
// What each book must come to: the job's state and each step's.
const EXPECTED = {
  ok: { state: 'done', steps: { a: 'done', b: 'done' } },
  fail: { state: 'error', steps: { a: 'done', b: 'error', c: 'skipped' } },
  flaky: { state: 'done', steps: { a: 'done' } },
  ignore: { state: 'done', steps: { a: 'error', b: 'done' } },
};
// Real attempts (not counting interruptions by a killed worker) each step must have made.
const ATTEMPTS = { flaky: { a: 2 } };
const BOOKS = {
  'inventory.yaml': inventory('s', opts.deployments),
  's.ok.book.yaml': `name: s.ok
kind: s
action: ok
unique: none
steps:
  - { name: a, kind: shell, run: "${run('a')}; sleep 0.2" }
  - { name: b, kind: shell, run: "${run('b')}; sleep 0.1" }
`,
  's.fail.book.yaml': `name: s.fail
kind: s
action: fail
unique: none
steps:
  - { name: a, kind: shell, run: "${run('a')}; sleep 0.1" }
  - { name: b, kind: shell, run: "${run('b')}; sleep 0.1; exit 3" }
  - { name: c, kind: shell, run: "${run('c')}" }
`,
  's.flaky.book.yaml': `name: s.flaky
kind: s
action: flaky
unique: none
steps:
  - name: a
    kind: shell
    retry: { max_attempts: 3, delay: 1s, backoff: fixed, retry_on_exit_codes: [75] }
    run: "${run('a')}; echo x >> {{deployment.vars.markers}}/{{job.id}}.flaky; sleep 0.1; test $(wc -l < {{deployment.vars.markers}}/{{job.id}}.flaky) -ge 2 || exit 75"
`,
  's.ignore.book.yaml': `name: s.ignore
kind: s
action: ignore
unique: none
steps:
  - { name: a, kind: shell, on_failure: ignore, run: "${run('a')}; exit 1" }
  - { name: b, kind: shell, run: "${run('b')}; sleep 0.1" }
`,
};
const ACTIONS = Object.keys(EXPECTED);

const cluster = await Cluster.start({
  books: BOOKS,
  name: 'soak',
  env: {
    QUIRE_LEASE_SECONDS: '3',
    QUIRE_HEARTBEAT_SECONDS: '1',
    QUIRE_POLL_MS: '200',
    QUIRE_CHANNELS: 'default:64',
    QUIRE_WORKER_CONCURRENCY: String(opts.concurrency),
  },
});
const violations = [];
const t0 = Date.now();
let kills = 0;
let restarts = 0;
let stopKilling = false;

async function killer(workers) {
  let generation = 0;
  while (!stopKilling) {
    await sleep((opts.killMin + Math.random() * (opts.killMax - opts.killMin)) * 1000);
    if (stopKilling) break;
    const i = Math.floor(Math.random() * workers.length);
    await workers[i].kill('SIGKILL');
    kills++;
    await sleep(300);
    if (stopKilling) break;
    try {
      workers[i] = await cluster.worker(`w${i + 1}-r${++generation}`);
      restarts++;
    } catch (error) {
      violations.push(`a worker did not restart: ${error.message}`);
    }
  }
}

function runsPerStep() {
  const path = join(cluster.markers, 'runs');
  const counts = new Map();
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

try {
  await cluster.serve();
  const workers = await Promise.all(Array.from({ length: opts.workers }, (_, i) => cluster.worker(`w${i + 1}`)));
  const killing = killer(workers);
  console.log(
    `soak: ${opts.jobs} jobs, ${opts.workers} workers, a SIGKILL every ${opts.killMin}-${opts.killMax} s, time limit ${opts.timeLimit} s`,
  );

  const actionOf = new Map();
  const ids = await cluster.triggerMany(opts.jobs, (i) => [`d${1 + (i % opts.deployments)}`, ACTIONS[i % ACTIONS.length]], 8);
  ids.forEach((id, i) => actionOf.set(id, ACTIONS[i % ACTIONS.length]));
  const triggeredAt = Date.now();
  console.log(`triggered ${ids.length} jobs in ${((triggeredAt - t0) / 1000).toFixed(1)} s`);

  let final = 0;
  let last = 0;
  while (Date.now() - t0 < opts.timeLimit * 1000) {
    final = await cluster.count(`SELECT count(*)::int AS n FROM jobs WHERE state IN ('done', 'error', 'cancel')`);
    if (final === ids.length) break;
    if (Date.now() - last > 5000) {
      last = Date.now();
      console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${final}/${ids.length} final, ${kills} kills`);
    }
    await sleep(500);
  }
  const finishedAt = Date.now();
  stopKilling = true;
  await killing;
  if (final !== ids.length) violations.push(`time limit: only ${final} of ${ids.length} jobs final after ${opts.timeLimit} s`);
  // Stop everything before reading the markers: nothing may append any more.
  await Promise.all(cluster.processes.filter((p) => p.role === 'worker').map((p) => p.kill('SIGKILL')));
  cluster.killStrays();

  const { rows: jobs } = await cluster.db.query(`SELECT id, state, deployment_id, date_running, date_done FROM jobs`);
  const { rows: steps } = await cluster.db.query(`SELECT job_id, name, state, attempt, interruptions FROM job_steps`);
  const stepsOf = new Map();
  for (const s of steps) stepsOf.set(s.job_id, [...(stepsOf.get(s.job_id) ?? []), s]);
  const runs = runsPerStep();

  if (jobs.length !== ids.length) violations.push(`${jobs.length} jobs in the database, ${ids.length} triggered`);
  const unfinished = jobs.filter((j) => !['done', 'error', 'cancel'].includes(j.state));
  if (unfinished.length)
    violations.push(
      `${unfinished.length} job(s) not final: ${unfinished
        .slice(0, 5)
        .map((j) => `${j.id}:${j.state}`)
        .join(', ')}`,
    );
  let rescuedJobs = 0;
  let extraRuns = 0;
  for (const job of jobs) {
    const action = actionOf.get(job.id);
    const expected = EXPECTED[action];
    if (!expected) {
      violations.push(`job ${job.id}: not one of ours`);
      continue;
    }
    if (job.state !== expected.state) violations.push(`job ${job.id} (${action}): ended ${job.state}, its book says ${expected.state}`);
    const mine = stepsOf.get(job.id) ?? [];
    if (mine.some((s) => s.interruptions > 0)) rescuedJobs++;
    for (const step of mine) {
      const want = expected.steps[step.name];
      if (step.state !== want) violations.push(`job ${job.id} (${action}) step ${step.name}: ${step.state}, expected ${want}`);
      const ran = runs.get(`${job.id} ${step.name}`) ?? 0;
      // Each start is recorded (attempt + 1) before the command is spawned: never more runs than attempts.
      if (ran > step.attempt) violations.push(`job ${job.id} step ${step.name}: ran ${ran} times in ${step.attempt} attempt(s)`);
      if (want === 'skipped' && ran > 0) violations.push(`job ${job.id} step ${step.name}: skipped but ran ${ran} time(s)`);
      if (want !== 'skipped' && ran < 1) violations.push(`job ${job.id} step ${step.name}: ${step.state} but never ran`);
      const real = step.attempt - step.interruptions;
      const wantReal = want === 'skipped' ? 0 : (ATTEMPTS[action]?.[step.name] ?? 1);
      // A flaky step counts its runs in a file: a run cut short by a kill may have counted, so
      // after an interruption one real attempt can be enough.
      const realOk = step.interruptions === 0 || wantReal <= 1 ? real === wantReal : real >= 1 && real <= wantReal;
      if (!realOk)
        violations.push(
          `job ${job.id} (${action}) step ${step.name}: ${real} counted attempt(s), expected ${wantReal} (interruptions ${step.interruptions})`,
        );
      extraRuns += Math.max(0, ran - wantReal);
    }
  }
  // Jobs of one deployment never overlap: claim-to-end intervals, in claim order.
  const byDeployment = new Map();
  for (const j of jobs)
    if (j.date_running && j.date_done) byDeployment.set(j.deployment_id, [...(byDeployment.get(j.deployment_id) ?? []), j]);
  let overlaps = 0;
  for (const list of byDeployment.values()) {
    list.sort((a, b) => a.date_running - b.date_running);
    for (let i = 1; i < list.length; i++) {
      if (list[i].date_running < list[i - 1].date_done) {
        overlaps++;
        if (overlaps <= 5)
          violations.push(
            `overlap on a deployment: job ${list[i - 1].id} until ${list[i - 1].date_done.toISOString()}, job ${list[i].id} from ${list[i].date_running.toISOString()}`,
          );
      }
    }
  }
  if (overlaps > 5) violations.push(`... ${overlaps} overlaps in all`);

  const seconds = (finishedAt - t0) / 1000;
  const states = jobs.reduce((acc, j) => ({ ...acc, [j.state]: (acc[j.state] ?? 0) + 1 }), {});
  console.log(`\nsoak figures:`);
  console.log(
    `  jobs: ${jobs.length} (${Object.entries(states)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}) in ${seconds.toFixed(1)} s: ${(jobs.length / seconds).toFixed(1)} jobs/s with kills`,
  );
  console.log(
    `  worker kills: ${kills} (restarts ${restarts}); jobs with an interrupted step (rescued): ${rescuedJobs}; step runs repeated after a kill: ${extraRuns}`,
  );
  console.log(`  step runs recorded: ${[...runs.values()].reduce((a, b) => a + b, 0)} for ${steps.length} steps`);
  if (violations.length) {
    console.log(`\n${violations.length} VIOLATION(S):`);
    for (const v of violations.slice(0, 50)) console.log(`  ${v}`);
    process.exitCode = 1;
  } else {
    console.log(`\nOK: every job ended as its book says; none left running`);
  }
} catch (error) {
  console.error(`soak failed: ${error.stack ?? error}`);
  for (const p of cluster.processes.slice(-4)) console.error(`--- ${p.name}\n${p.buffer.slice(-2000)}`);
  process.exitCode = 1;
} finally {
  stopKilling = true;
  await cluster.close();
}
