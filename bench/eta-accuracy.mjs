// How good is the ETA announced when a job is created (issue 13, BOOKS.md section 7)? Books
// with steady, failing-but-ignored, skipped, retried and param-dependent steps (every step at
// least 0.5 s) run 10 times each on PostgreSQL; for every run it prints the ETA at creation (and
// its basis), the actual duration and the error. Target: from the 4th run of a history on, every
// job within ±15%; no healthy run killed by a learned timeout. Then the example demo-app.deploy
// book on shop-web, the same way.
//
//   npm run build && node bench/eta-accuracy.mjs [--runs 10] [--demo 1]
//
// Actual duration = date_done - date_created (PostgreSQL's clock): what a person who triggered
// the job waits, claim and bookkeeping between steps included. Each book runs on its own
// deployment, its runs one after another; the books run side by side.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, inventory, args, until } from './engine-cluster.mjs';

const opts = args({ runs: 10, demo: 1 });
const TARGET = 0.15;

const book = (name, body) => `name: b.${name}\nkind: b\naction: ${name}\nunique: none\n${body}`;
const marker = (name) => `{{deployment.vars.markers}}/{{job.id}}.${name}`;

// Book estimates are deliberately off (2 s a step): runs 1-3 show the book's figure.
const BOOKS = {
  steady: book(
    'steady',
    `defaults: { estimated_duration: 2 }
steps:
  - { name: fetch, kind: shell, run: "sleep 0.6" }
  - { name: build, kind: shell, run: "sleep 0.8" }
  - { name: settle, kind: wait, duration: 500ms }
`,
  ),
  ignored: book(
    'ignored',
    `defaults: { estimated_duration: 2 }
steps:
  - { name: prepare, kind: shell, run: "sleep 0.5" }
  - { name: check-health, kind: shell, run: "sleep 0.5; exit 1", on_failure: ignore }
  - { name: finish, kind: shell, run: "sleep 0.7" }
`,
  ),
  skipped: book(
    'skipped',
    `params:
  type: object
  properties:
    notify: { type: boolean, default: false }
defaults: { estimated_duration: 2 }
steps:
  - { name: probe, kind: shell, run: "sleep 0.6; echo ::output extra=" }
  # false at creation: foreseen, out of the ETA from the first run
  - { name: notify, kind: shell, when: "{{params.notify}}", run: "sleep 2" }
  # no secret configured: foreseen too
  - name: chat
    kind: shell
    secrets: [bench_token]
    when: "{{ne (default secrets.bench_token '') ''}}"
    run: "sleep 2"
  # depends on an earlier output: weighted by how often it ran recently (never, here)
  - { name: extra, kind: shell, when: "{{default steps.probe.output.extra ''}}", run: "sleep 2" }
  - { name: finish, kind: shell, run: "sleep 0.5" }
`,
  ),
  retried: book(
    'retried',
    `defaults: { estimated_duration: 2 }
steps:
  - { name: prepare, kind: shell, run: "sleep 0.5" }
  # fails its first attempt in every job, succeeds on the second, a second later
  - name: flaky
    kind: shell
    retry: { max_attempts: 2, delay: 1s, backoff: fixed, retry_on_exit_codes: [75] }
    run: "sleep 0.5; echo x >> ${marker('flaky')}; test $(wc -l < ${marker('flaky')}) -ge 2 || exit 75"
  - { name: finish, kind: shell, run: "sleep 0.5" }
`,
  ),
  param: book(
    'param',
    `params:
  type: object
  properties:
    size: { type: number, default: 0.5 }
defaults: { estimated_duration: 2 }
steps:
  - { name: prepare, kind: shell, run: "sleep 0.5" }
  - { name: restore, kind: shell, run: "sleep {{params.size}}", estimate_by: [params.size] }
`,
  ),
  // Not in the accuracy target: fifty-fifty sizes without estimate_by, and a rare slow run.
  // Timeout check: a learned mean of ~0.5 s × 3 would kill the 2.5 s runs; max(book, p99) × 3 does not.
  outlier: book(
    'outlier',
    `params:
  type: object
  properties:
    size: { type: number, default: 0.5 }
defaults: { estimated_duration: 1, estimated_duration_over_stop: 3 }
steps:
  - { name: prepare, kind: shell, run: "sleep 0.5" }
  - { name: restore, kind: shell, run: "sleep {{params.size}}" }
`,
  ),
};

/** Params of run i (0-based) per book. */
const PARAMS = {
  param: (i) => ({ size: i % 2 === 0 ? 0.5 : 2.5 }),
  outlier: (i) => ({ size: i === 7 || i === 9 ? 2.5 : 0.5 }),
};
/** Which history a run belongs to, for "the 4th run of a history". */
const HISTORY = { param: (i) => `size ${PARAMS.param(i).size}` };

const names = Object.keys(BOOKS);
const books = Object.fromEntries(names.map((n) => [`${n}.book.yaml`, BOOKS[n]]));
books['inventory.yaml'] = inventory('b', names.length);

const fmt = (s) => (s === null || s === undefined ? '-' : s.toFixed(2));
const pct = (e) => `${e >= 0 ? '+' : ''}${(e * 100).toFixed(1)}%`;

async function runSeries(cluster, deployment, action, paramsOf, historyOf, runs, watch) {
  const rows = [];
  const seen = new Map();
  for (let i = 0; i < runs; i++) {
    const params = paramsOf?.(i) ?? {};
    const { status, body } = await cluster.api('POST', `/api/deployments/${deployment}/actions/${action}`, { params });
    if (status !== 202) throw new Error(`trigger ${action}: ${status} ${JSON.stringify(body)}`);
    const { id, progress, steps } = body.job;
    const watched = watch ? steps.find((s) => s.name === watch) : undefined;
    await until(
      `job ${id} to end`,
      async () =>
        (await cluster.db.query(`SELECT 1 FROM jobs WHERE id = $1 AND state IN ('done', 'error', 'cancel')`, [id])).rowCount === 1,
      120_000,
      50,
    );
    // chained jobs (the demo's backup) run on the same deployment: let them end before the next run
    await until(
      'the deployment to be idle',
      async () =>
        (
          await cluster.db.query(
            `SELECT 1 FROM jobs j JOIN deployments d ON d.id = j.deployment_id WHERE d.name = $1 AND j.state IN ('scheduled', 'running')`,
            [deployment],
          )
        ).rowCount === 0,
      120_000,
      50,
    );
    const {
      rows: [job],
    } = await cluster.db.query(
      `SELECT state, error, EXTRACT(EPOCH FROM date_done - date_created)::float AS actual FROM jobs WHERE id = $1`,
      [id],
    );
    const history = historyOf?.(i) ?? '';
    const nth = (seen.get(history) ?? 0) + 1;
    seen.set(history, nth);
    rows.push({
      run: i + 1,
      history,
      nth,
      eta: progress.eta_s,
      basis: progress.eta_basis,
      runs: progress.eta_runs,
      actual: job.actual,
      error: (progress.eta_s - job.actual) / job.actual,
      state: job.state,
      why: job.error,
      watched,
    });
  }
  return rows;
}

function print(title, rows) {
  console.log(`\n${title}`);
  console.log('run  history      ETA at creation (basis)           actual   error    state');
  for (const r of rows) {
    const basis = r.basis === 'learned' ? `learned from ${r.runs} runs` : 'book estimate';
    console.log(
      `${String(r.run).padStart(3)}  ${(r.history || '-').padEnd(11)} ${fmt(r.eta).padStart(6)} s (${basis.padEnd(22)}) ${fmt(r.actual).padStart(6)} s ${pct(r.error).padStart(7)}  ${r.state}${r.why ? ` (${r.why})` : ''}${
        r.watched
          ? `  ${r.watched.name}: timeout ${fmt(r.watched.timeout)} s (a learned mean × 3 would be ${fmt(r.watched.estimated_duration * 3)} s)`
          : ''
      }`,
    );
  }
}

const timedOut = (rows) => rows.filter((r) => r.state !== 'done' || /timed out/.test(r.why ?? ''));
const misses = (rows) => rows.filter((r) => r.nth >= 4 && Math.abs(r.error) > TARGET);

const cluster = await Cluster.start({ books, name: 'eta', env: { QUIRE_SCHEDULE_MISSED: 'skip' } });
const summary = [];
try {
  await cluster.serve();
  await cluster.worker('eta-w1');
  const results = await Promise.all(
    names.map((name, i) =>
      runSeries(cluster, `d${i + 1}`, name, PARAMS[name], HISTORY[name], opts.runs, name === 'outlier' ? 'restore' : undefined),
    ),
  );
  let scored = 0;
  let missed = 0;
  for (const [i, name] of names.entries()) {
    const rows = results[i];
    print(`b.${name}${name === 'outlier' ? ' (no estimate_by; not in the accuracy target: timeout check)' : ''}`, rows);
    const errors = rows.filter((r) => r.nth >= 4).map((r) => Math.abs(r.error));
    const worst = errors.length ? Math.max(...errors) : NaN;
    if (name !== 'outlier') {
      scored += errors.length;
      missed += misses(rows).length;
    }
    summary.push(
      `b.${name}: worst |error| from the 4th run of a history on ${(worst * 100).toFixed(1)}%; runs not done: ${timedOut(rows).length}`,
    );
  }
  summary.push(`accuracy target (±${TARGET * 100}% from the 4th run of a history on): ${scored - missed}/${scored} jobs within`);
} finally {
  await cluster.close();
}

if (opts.demo) {
  // The example books as shipped, on shop-web (its check-health asks port 3000 and is ignored when nothing answers).
  const dir = join(import.meta.dirname, '..', 'books');
  const demoBooks = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  const demo = await Cluster.start({ books: demoBooks, name: 'etademo', env: { QUIRE_SCHEDULE_MISSED: 'skip' } });
  try {
    await demo.serve();
    await demo.worker('eta-demo');
    const rows = await runSeries(demo, 'shop-web', 'deploy', () => ({ release: '2.1.0' }), null, opts.runs);
    print('demo-app.deploy on shop-web (books/ as shipped; each run waits for the backup it chains)', rows);
    const errors = rows.filter((r) => r.nth >= 4).map((r) => Math.abs(r.error));
    summary.push(
      `demo-app.deploy: worst |error| from run 4 on ${(Math.max(...errors) * 100).toFixed(1)}%; ${misses(rows).length} outside ±${TARGET * 100}%`,
    );
  } finally {
    await demo.close();
  }
}

console.log(`\n${summary.join('\n')}`);
