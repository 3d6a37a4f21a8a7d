// Durations that learn (BOOKS.md section 7), run by a real worker process on PostgreSQL: every
// finished attempt teaches by its outcome (an ignored failure, a retry with its wait), skips are
// learned as run chances, `estimate_by` keeps a history per value, and a running step past its
// estimate keeps the job's ETA above zero. No timing assertions: conditions with deadlines.
import { QuireCluster, inventory, until } from '../support/processes.js';

const m = (name: string) => `{{deployment.vars.markers}}/{{job.id}}.${name}`;

const BOOKS: Record<string, string> = {
  'svc.learn.book.yaml': `name: svc.learn
kind: svc
action: learn
unique: none
params:
  type: object
  properties:
    go: { type: string, default: "yes" }
    size: { type: number, default: 0.1 }
    notify: { type: boolean, default: false }
defaults:
  estimated_duration: 5
steps:
  - name: steady
    kind: shell
    run: "echo ::output go={{params.go}}"
  - name: check
    kind: shell
    run: "exit 1"
    on_failure: ignore
  - name: flaky
    kind: shell
    retry: { max_attempts: 2, delay: 500ms, backoff: fixed, retry_on_exit_codes: [75] }
    run: "echo x >> ${m('flaky')}; test $(wc -l < ${m('flaky')}) -ge 2 || exit 75"
  - name: restore
    kind: shell
    run: "sleep {{params.size}}"
    estimate_by: [params.size]
  - name: maybe
    kind: shell
    when: "{{default steps.steady.output.go ''}}"
    run: "true"
  - name: notify
    kind: shell
    when: "{{params.notify}}"
    run: "true"
  - name: chat
    kind: shell
    secrets: [chat_token]
    when: "{{ne (default secrets.chat_token '') ''}}"
    run: "true"
`,
  'svc.slow.book.yaml': `name: svc.slow
kind: svc
action: slow
unique: none
steps:
  - name: slow
    kind: shell
    estimated_duration: 1
    estimated_duration_over_stop: 60
    run: "sleep 30"
`,
};

interface HistoryRow {
  step_name: string;
  estimate_key: string;
  outcome: string;
  samples: number;
  recent: number[];
}

describe('engine: durations that learn', () => {
  let cluster: QuireCluster;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 2), ...BOOKS } });
    // a secret configured on both: a when that tests it is decided at creation, by its presence
    await cluster.serve({ env: { QUIRE_SECRET_CHAT_TOKEN: 'not-a-real-token' } });
    // Polling once a minute: a retry is claimed when its delay ends (the worker's own timer), so
    // these jobs finish well within their deadlines only if that timer works.
    await cluster.worker('learner', { QUIRE_POLL_MS: '60000', QUIRE_SECRET_CHAT_TOKEN: 'not-a-real-token' });
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  const history = async (): Promise<HistoryRow[]> => {
    // Ends record their lessons as samples; the worker folds them into the histories within a second.
    await until(
      'the lessons folded',
      async () => (await cluster.db.query(`SELECT 1 FROM step_duration_samples WHERE book_name = 'svc.learn' LIMIT 1`)).rowCount === 0,
    );
    return (
      await cluster.db.query<HistoryRow>(
        `SELECT step_name, estimate_key, outcome, samples, recent FROM step_duration_history WHERE book_name = 'svc.learn' ORDER BY step_name, estimate_key, outcome`,
      )
    ).rows;
  };
  const row = (rows: HistoryRow[], step: string, outcome: string, key = '') =>
    rows.find((r) => r.step_name === step && r.outcome === outcome && r.estimate_key === key);
  const jobView = async (id: string) => (await cluster.api('GET', `/api/jobs/${id}`)).body.job;

  it('every finished attempt teaches by its outcome, and each job whether the step ran', async () => {
    // three jobs in which `maybe` runs, one in which its when (on steady's output) skips it
    for (const go of ['yes', 'yes', '', 'yes']) {
      const id = await cluster.trigger('d1', 'learn', { go });
      expect((await cluster.finished(id, 60_000)).state).toBe('done');
    }
    const rows = await history();
    expect(row(rows, 'steady', 'done')?.samples).toBe(4);
    // and the engine's bookkeeping before each step's first attempt
    expect(row(rows, 'steady', 'lead')?.samples).toBe(4);
    expect(row(rows, 'maybe', 'lead')?.samples).toBe(3);
    // a failure the book ignores is learned, apart from real failures
    expect(row(rows, 'check', 'ignored')?.samples).toBe(4);
    expect(row(rows, 'check', 'failed')).toBeUndefined();
    // each job's first flaky attempt was retried: its cost includes the 500 ms wait
    const retried = row(rows, 'flaky', 'retried')!;
    expect(retried.samples).toBe(4);
    expect(Math.min(...retried.recent)).toBeGreaterThanOrEqual(0.5);
    expect(row(rows, 'flaky', 'done')?.samples).toBe(4);
    // estimate_by: the history of restore is kept under its size
    expect(row(rows, 'restore', 'done', '{"params.size":0.1}')?.samples).toBe(4);
    expect(row(rows, 'restore', 'done')).toBeUndefined();
    // ran: 1 or 0 per job
    expect(row(rows, 'maybe', 'ran')?.recent).toEqual([1, 1, 0, 1]);
    expect(row(rows, 'notify', 'ran')?.recent).toEqual([0, 0, 0, 0]);
  }, 300_000);

  it('the next job is estimated from all of it, and its ETA says it is learned', async () => {
    const id = await cluster.trigger('d1', 'learn', {});
    const job = await jobView(id);
    const step = (name: string) => job.steps.find((s: { name: string }) => s.name === name);
    expect(step('check')).toMatchObject({ estimate_source: 'history', estimate_runs: 4 });
    expect(step('check').estimated_duration).toBeLessThan(5);
    // a retry per run, with its wait: more than the wait alone
    expect(step('flaky')).toMatchObject({ estimate_source: 'history' });
    expect(step('flaky').estimated_duration).toBeGreaterThan(0.5);
    expect(step('maybe')).toMatchObject({ run_chance: 0.75, estimate_source: 'history', estimate_runs: 3 });
    expect(step('notify')).toMatchObject({ run_chance: 0 });
    // configured where the job is created: the when is true, and the step counts in full
    expect(step('chat')).toMatchObject({ run_chance: 1 });
    expect(job.progress).toMatchObject({ eta_basis: 'learned', eta_runs: 3 });
    const { rows } = await cluster.db.query(`SELECT payload FROM deploy_events WHERE job_id = $1 AND type = 'job' ORDER BY seq LIMIT 1`, [
      id,
    ]);
    expect(rows[0].payload.progress).toMatchObject({ eta_basis: 'learned', eta_runs: 3 });
    expect((await cluster.finished(id, 60_000)).state).toBe('done');

    // a size never seen starts from the book's estimate, and the ETA says so
    const other = await jobView(await cluster.trigger('d2', 'learn', { size: 0.2 }));
    expect(other.steps.find((s: { name: string }) => s.name === 'restore')).toMatchObject({
      estimate_source: 'book',
      estimated_duration: 5,
    });
    expect(other.progress).toMatchObject({ eta_basis: 'book', eta_runs: 0 });
    expect((await cluster.finished(other.id, 60_000)).state).toBe('done');
  }, 300_000);

  it('a step running past its estimate keeps the ETA above zero', async () => {
    const id = await cluster.trigger('d2', 'slow');
    // wait until the step has run well past its 1 s estimate
    await until(
      'the slow step to pass its estimate',
      async () => {
        const step = (await cluster.steps(id))[0]!;
        return step.state === 'running' && step.date_started !== null && Date.now() - new Date(step.date_started).getTime() > 2500;
      },
      60_000,
    );
    const job = await jobView(id);
    expect(job.steps[0].state).toBe('running');
    expect(job.progress.eta_s).toBeGreaterThan(0);
    await cluster.api('POST', `/api/jobs/${id}/cancel`);
    expect((await cluster.finished(id, 60_000)).state).toBe('cancel');
  }, 120_000);
});
