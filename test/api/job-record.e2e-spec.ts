// What a job record tells (issue 10): step outcomes counted separately in `progress.counts`,
// skip reasons in plain words, links between parent and child jobs, the activity record of
// who did what, and a differing trigger refused instead of merged. Real service, real worker,
// real PostgreSQL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';

const INVENTORY = `clusters:
  - name: c1
    groups:
      - name: g1
        deployments:
          - { name: app-1, kind: rec }
          - { name: app-2, kind: rec }
`;

const BOOKS: Record<string, string> = {
  'rec.mixed.book.yaml': `name: rec.mixed
kind: rec
action: mixed
params:
  type: object
  properties:
    run_optional: { type: boolean, default: false }
steps:
  - { name: first, kind: shell, run: "echo one" }
  - { name: flaky, kind: shell, run: "exit 3", on_failure: ignore }
  - { name: optional, kind: shell, run: "echo optional", when: "{{params.run_optional}}" }
  - { name: breaks, kind: shell, run: "exit 4" }
  - { name: never, kind: shell, run: "echo never" }
`,
};

const until = async <T>(what: string, read: () => Promise<T | undefined | null | false>, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('the job record', () => {
  let app: TestApp;
  let booksDir: string;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-record-books-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    for (const [file, text] of Object.entries(BOOKS)) writeFileSync(join(booksDir, file), text);
    app = await startTestApp({ booksDir, env: { QUIRE_SHUTDOWN_GRACE_SECONDS: '1' } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    if (booksDir) rmSync(booksDir, { recursive: true, force: true });
  });

  const job = async (id: string) => (await app.api('GET', `/api/jobs/${id}`)).body.job;
  const ended = (id: string, ms = 30_000) =>
    until(
      `job ${id} to end`,
      async () => {
        const j = await job(id);
        return ['done', 'error', 'cancel'].includes(j.state) ? j : null;
      },
      ms,
    );

  it('counts done, failed, ignored, skipped and cancelled steps apart, in the job and its events', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-1/actions/mixed', { params: {} });
    expect(status).toBe(202);
    expect(body.job.progress.counts).toEqual({ done: 0, failed: 0, ignored: 0, skipped: 0, cancelled: 0 });
    const done = await ended(body.job.id);
    expect(done.state).toBe('error');
    expect(done.steps.map((s: any) => s.state)).toEqual(['done', 'error', 'skipped', 'error', 'skipped']);
    expect(done.progress.counts).toEqual({ done: 1, failed: 1, ignored: 1, skipped: 2, cancelled: 0 });
    expect(done.progress.done_steps).toBe(5);
    // The `when` that skipped a step is told in words, not as template source.
    expect(done.steps[2].error).toBe('skipped: params.run_optional is false');
    // The final job event carries the same counts.
    const server = app.server as unknown as { database: { url: string } };
    const pg = (await import('pg')).default;
    const db = new pg.Client({ connectionString: server.database.url });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT payload FROM deploy_events WHERE job_id = $1 AND type = 'job' ORDER BY seq DESC LIMIT 1`, [
        body.job.id,
      ]);
      expect(rows[0].payload.state).toBe('error');
      expect(rows[0].payload.progress.counts).toEqual({ done: 1, failed: 1, ignored: 1, skipped: 2, cancelled: 0 });
    } finally {
      await db.end();
    }
  }, 45_000);
});
