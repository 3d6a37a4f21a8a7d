// The example books in books/ as a user first meets them: run by a real worker, on their own
// files (each deployment here keeps its files under a temp root, not /tmp/quire-demo).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';

const FINAL = ['done', 'error', 'cancel'];

describe('the example books', () => {
  let app: TestApp;
  let root: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'quire-examples-'));
    app = await startTestApp({ booksDir: 'books', env: { QUIRE_SHUTDOWN_GRACE_SECONDS: '1' } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A demo-app deployment of the example inventory's shop group, with its files under `root`. */
  async function deployment(name: string, vars: Record<string, unknown> = {}): Promise<void> {
    const created = await app.api('POST', '/api/deployments', {
      name,
      kind: 'demo-app',
      group: 'local/shop',
      vars: { root, health_url: `${app.url}/health`, ...vars },
    });
    expect(created.status).toBe(201);
  }

  async function trigger(path: string, params: Record<string, unknown> = {}): Promise<string> {
    const { status, body } = await app.api('POST', path, { params });
    expect({ path, status, message: body.message }).toEqual({ path, status: 202, message: undefined });
    return body.job.id as string;
  }

  /** Polls the job until `done(job)`; acknowledges every manual step that waits meanwhile. */
  async function settle(id: string, timeoutMs = 30_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await app.api('GET', `/api/jobs/${id}`)).body.job;
      if (FINAL.includes(job.state)) return job;
      for (const step of job.steps.filter((s: any) => s.state === 'waiting')) {
        expect((await app.api('POST', `/api/jobs/${id}/steps/${step.name}/ack`, { note: 'test' })).status).toBe(200);
      }
      if (Date.now() > deadline)
        throw new Error(`job ${id} still ${job.state}: ${JSON.stringify(job.steps.map((s: any) => [s.name, s.state]))}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  const stepStates = (job: any) => Object.fromEntries(job.steps.map((s: any) => [s.name, s.state]));
  const jobsOf = async (name: string) => (await app.api('GET', `/api/jobs?deployment=${name}`)).body.jobs as any[];

  it('destroys a draft deployment, skipping the backup of what was never deployed', async () => {
    await deployment('ex-draft');
    const job = await settle(await trigger('/api/deployments/ex-draft/actions/destroy'));
    expect([job.state, job.error]).toEqual(['done', null]);
    expect(stepStates(job)).toEqual({ confirm: 'done', 'final-backup': 'skipped', 'remove-files': 'done' });
    expect((await app.api('GET', '/api/deployments/ex-draft')).body.deployment.state).toBe('dropped');
  });

  it('deploys, then destroys a paused deployment after a final backup', async () => {
    await deployment('ex-paused');
    const deploy = await settle(await trigger('/api/deployments/ex-paused/actions/deploy', { release: '2.0.0', replicas: 1 }));
    // notify-chat runs only with the secret it lists configured; without it, it is skipped
    const chat = process.env.QUIRE_SECRET_DEMO_TOKEN ? 'done' : 'skipped';
    expect([deploy.state, stepStates(deploy)['notify-chat']]).toEqual(['done', chat]);
    expect(existsSync(join(root, 'ex-paused', '2.0.0', 'RELEASE'))).toBe(true);
    // the deploy chains a backup; let it end before pausing
    for (const job of await jobsOf('ex-paused')) await settle(job.id);
    expect((await app.api('PATCH', '/api/deployments/ex-paused', { state: 'paused' })).status).toBe(200);

    const destroy = await settle(await trigger('/api/deployments/ex-paused/actions/destroy'));
    expect([destroy.state, destroy.error]).toEqual(['done', null]);
    expect(stepStates(destroy)).toEqual({ confirm: 'done', 'final-backup': 'done', 'remove-files': 'done' });
    expect(existsSync(join(root, 'backups', 'ex-paused-final.tar.gz'))).toBe(true);
    expect(existsSync(join(root, 'ex-paused'))).toBe(false);
  });

  it('skips the backup of a deployment whose vars turn backups off, by the book-level when', async () => {
    await deployment('ex-nobackup', { backups: 'off' });
    await settle(await trigger('/api/deployments/ex-nobackup/actions/deploy', { replicas: 1 }));
    const backup = (await jobsOf('ex-nobackup')).find((j) => j.action === 'backup');
    const job = await settle(backup.id);
    expect(job.state).toBe('done');
    expect(job.skip_reason).toMatch(/^skipped: /);
    expect(job.steps.every((s: any) => s.state === 'skipped')).toBe(true);
  });

  it('fails the verify step of a deploy asked to with fail_verify, leaving the state as it was', async () => {
    await deployment('ex-failing');
    const job = await settle(await trigger('/api/deployments/ex-failing/actions/deploy', { replicas: 1, fail_verify: true }));
    expect([job.state, stepStates(job).verify]).toEqual(['error', 'error']);
    expect(job.error).toMatch(/verify/);
    const after = (await app.api('GET', '/api/deployments/ex-failing')).body.deployment;
    expect([after.state, after.last_error]).toEqual(['draft', expect.stringMatching(/verification failed/)]);
  });

  it('runs the group book on a group', async () => {
    const job = await settle(await trigger('/api/groups/local%2Fshop/actions/report'));
    expect([job.state, job.deployment_id]).toEqual(['done', null]);
    expect(job.steps.map((s: any) => s.output).join('')).toContain('group shop of cluster local, owner team-shop');
  });
});
