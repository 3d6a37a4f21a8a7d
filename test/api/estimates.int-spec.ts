// Estimates and the ETA of a job at creation (BOOKS.md section 7), through the real API on a real
// PostgreSQL, from histories written the way the engine folds them: every outcome teaches, a
// `when` known at creation takes its step out of the ETA, `estimate_by` keeps one history per
// value, timeouts come from the learned p99, and the ETA says where it comes from.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from '../support/app.js';
import { JobStore } from '../../src/engine/job-store.js';
import { EventsService } from '../../src/events/events.service.js';
import { foldDuration, type DurationHistory } from '../../src/jobs/estimates.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/service-books');

const BOOK = `name: svc.learn
kind: svc
action: learn
unique: none
params:
  type: object
  properties:
    size: { type: string, default: small }
    notify: { type: boolean, default: false }
defaults:
  estimated_duration: 10
  estimated_duration_over_stop: 3
steps:
  - name: steady
    kind: shell
    run: "echo ::output go=yes"
  - name: check
    kind: shell
    run: "exit 1"
    on_failure: ignore
  - name: flaky
    kind: shell
    run: "true"
    retry: { max_attempts: 2, delay: 1s, retry_on_exit_codes: [75] }
  - name: restore
    kind: shell
    run: "echo {{params.size}}"
    estimate_by: [params.size]
  - name: notify
    kind: shell
    when: "{{params.notify}}"
    run: "true"
  - name: chat
    kind: shell
    secrets: [chat_token]
    when: "{{ne (default secrets.chat_token '') ''}}"
    run: "true"
  - name: followup
    kind: shell
    when: "{{default steps.steady.output.go ''}}"
    run: "true"
`;

describe('estimates and the ETA at creation', () => {
  let app: TestApp;
  let booksDir: string;
  let db: pg.Pool;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-books-'));
    cpSync(join(FIXTURES, 'inventory.yaml'), join(booksDir, 'inventory.yaml'));
    writeFileSync(join(booksDir, 'svc.learn.book.yaml'), BOOK);
    // No worker: these tests read what a job is compiled with, from histories they write.
    app = await startTestApp({ booksDir, engine: false });
    db = new pg.Pool({ connectionString: app.server.database!.url, max: 1 });
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  const plan = async (params: Record<string, unknown> = {}) => {
    const { status, body } = await app.api('POST', '/api/books/plan', { deployment: 'app-1', action: 'learn', params });
    expect(status).toBe(200);
    return body.plan;
  };
  const stepOf = (p: { steps: any[] }, name: string) => p.steps.find((s) => s.name === name);
  const learn = async (step: string, outcome: string, values: number[], key = '') => {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    await db.query(
      `INSERT INTO step_duration_history (book_name, step_name, estimate_key, outcome, samples, mean, recent) VALUES ('svc.learn', $1, $2, $3, $4, $5, $6)
       ON CONFLICT (book_name, step_name, estimate_key, outcome) DO UPDATE SET samples = $4, mean = $5, recent = $6`,
      [step, key, outcome, values.length, mean, values],
    );
  };

  it('without history: book estimates; a when false at creation leaves the ETA, an unconfigured secret too', async () => {
    const p = await plan();
    expect(p.eta_basis).toBe('book');
    expect(p.eta_runs).toBe(0);
    expect(stepOf(p, 'notify').run_chance).toBe(0);
    expect(stepOf(p, 'chat').run_chance).toBe(0);
    // a when on an earlier output cannot be decided yet, and without history it counts fully
    expect(stepOf(p, 'followup').run_chance).toBe(1);
    expect(p.eta_s).toBe(50);
    // the same when, true by the params: the step is in the ETA
    const notify = await plan({ notify: true });
    expect(stepOf(notify, 'notify').run_chance).toBe(1);
    expect(notify.eta_s).toBe(60);
  });

  it('learns from every outcome, weights a when on outputs by its run chance, and keeps one history per estimate_by value', async () => {
    await learn('steady', 'done', [2, 2, 2]);
    await learn('check', 'ignored', [0.5, 0.5, 0.5]);
    await learn('flaky', 'done', [1, 1, 1]);
    await learn('flaky', 'retried', [3, 3, 3]);
    await learn('restore', 'done', [1, 1, 1], '{"params.size":"small"}');
    await learn('restore', 'done', [8, 8, 8], '{"params.size":"large"}');
    await learn('followup', 'done', [1, 1, 1]);
    await learn('followup', 'ran', [1, 0, 0, 0]);

    const small = await plan({ size: 'small' });
    expect(stepOf(small, 'check')).toMatchObject({ estimated_duration: 0.5, estimate_source: 'history', estimate_runs: 3 });
    // one retried attempt (run and wait, 3 s) per run, then the 1 s that succeeds
    expect(stepOf(small, 'flaky').estimated_duration).toBe(4);
    expect(stepOf(small, 'followup').run_chance).toBe(0.25);
    expect(small.eta_s).toBeCloseTo(2 + 0.5 + 4 + 1 + 0.25, 3);
    expect([small.eta_basis, small.eta_runs]).toEqual(['learned', 3]);

    const large = await plan({ size: 'large' });
    expect(stepOf(large, 'restore')).toMatchObject({ estimated_duration: 8, estimate_source: 'history' });
    expect(large.eta_s).toBeCloseTo(2 + 0.5 + 4 + 8 + 0.25, 3);

    // a value never seen starts from the book's estimate, and the ETA says so
    const medium = await plan({ size: 'medium' });
    expect(stepOf(medium, 'restore')).toMatchObject({ estimated_duration: 10, estimate_source: 'book', estimate_runs: 0 });
    expect(medium.eta_basis).toBe('book');
  });

  it('takes the timeout from the learned p99 of healthy runs when it exceeds the book estimate, never tighter', async () => {
    await learn('restore', 'done', [8, 8, 8, 8, 20], '{"params.size":"large"}');
    const large = await plan({ size: 'large' });
    expect(stepOf(large, 'restore')).toMatchObject({ estimated_duration: 10.4, estimate_p90: 20, timeout: 60 });
    // steady ran in 2 s every time: its timeout stays the book's 10 s × 3
    expect(stepOf(large, 'steady').timeout).toBe(30);
  });

  it('a created job and its event carry the ETA with its basis; its steps what their estimates come from', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-1/actions/learn', { params: { size: 'small' } });
    expect(status).toBe(202);
    expect(body.job.progress).toMatchObject({ eta_basis: 'learned', eta_runs: 3 });
    expect(body.job.progress.eta_s).toBeCloseTo(7.75, 3);
    expect(body.job.steps.find((s: any) => s.name === 'notify')).toMatchObject({ run_chance: 0, estimate_source: 'book' });
    expect(body.job.steps.find((s: any) => s.name === 'steady')).toMatchObject({ estimate_runs: 3, estimate_p90: 2, run_chance: 1 });
    const { rows } = await db.query(`SELECT payload FROM deploy_events WHERE job_id = $1 AND type = 'job' ORDER BY seq`, [body.job.id]);
    expect(rows[0].payload.progress).toMatchObject({ eta_basis: 'learned', eta_runs: 3 });
    expect(rows[0].payload.progress.eta_s).toBeCloseTo(7.75, 3);
  });

  it('counts what ends recorded and nobody folded yet, and folding it changes no estimate', async () => {
    // As the engine records lessons: one sample row per finished attempt, folded later.
    const sample = (step: string, outcome: string, values: number[], key = '') =>
      db.query(
        `INSERT INTO step_duration_samples (book_name, step_name, estimate_key, outcome, value) SELECT 'svc.learn', $1, $2, $3, v FROM unnest($4::float8[]) AS v`,
        [step, key, outcome, values],
      );
    await sample('restore', 'done', [3, 5, 4], '{"params.size":"medium"}'); // no history yet
    await sample('steady', 'done', [6, 6]); // on top of its history of 2, 2, 2
    const before = await plan({ size: 'medium' });
    expect(stepOf(before, 'restore')).toMatchObject({ estimated_duration: 4, estimate_source: 'history', estimate_runs: 3 });
    expect(stepOf(before, 'steady')).toMatchObject({ estimate_runs: 5, estimate_p90: 6 });

    const store = new JobStore(app.server.app.get(DataSource), app.server.app.get(EventsService));
    expect(await store.foldLessons()).toBe(5);
    expect((await db.query(`SELECT 1 FROM step_duration_samples`)).rowCount).toBe(0);
    const { rows } = await db.query(
      `SELECT samples, mean, recent FROM step_duration_history WHERE book_name = 'svc.learn' AND step_name = 'steady' AND outcome = 'done'`,
    );
    const expected = [2, 2, 2, 6, 6].reduce<DurationHistory | undefined>((h, v) => foldDuration(h, v), undefined)!;
    expect(rows[0].samples).toBe(expected.samples);
    expect(rows[0].mean).toBeCloseTo(expected.mean, 9);
    expect(rows[0].recent).toEqual(expected.recent);
    expect(await plan({ size: 'medium' })).toEqual(before);
  });

  it('refuses an estimate_by that names a secret or an undeclared parameter, saying where', async () => {
    const bad = BOOK.replace('estimate_by: [params.size]', 'estimate_by: [params.sise, secrets.chat_token]');
    const { status, body } = await app.api('POST', '/api/books/validate', { source: bad, file: 'svc.learn.book.yaml' });
    expect(status).toBe(200);
    expect(body.valid).toBe(false);
    expect(body.messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^svc\.learn\.book\.yaml:\d+:\d+: steps\[3\]\.estimate_by\[0\]: params\.sise is not declared in params/),
        expect.stringMatching(/steps\[3\]\.estimate_by\[1\]: secrets\.chat_token: a secret cannot key a duration history/),
      ]),
    );
  });
});
