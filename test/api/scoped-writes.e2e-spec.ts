// Issue 8 item 4: a scoped token's authority follows the work it causes. A job triggered by a
// token limited to cluster `other` may not reach into another cluster through a trigger step or
// an on_success link whose target comes from its params, however deep the chain; and reloading
// books and inventory (which resets every cluster's deployment vars) is for unscoped admins.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callAs, startTestApp, type TestApp } from '../support/app.js';
import { until } from '../support/processes.js';
import { TokensService } from '../../src/auth/tokens.service.js';
import { mainAndOtherInventory } from '../support/books.js';

const INVENTORY = mainAndOtherInventory(['app-other-2']);
const PARAMS = `params:
  type: object
  required: [target]
  properties: { target: { type: string } }
`;
const BOOKS: Record<string, string> = {
  'web.fanout.book.yaml': `name: web.fanout
kind: web
action: fanout
unique: none
${PARAMS}steps:
  - name: child
    kind: trigger
    deployment: "{{params.target}}"
    action: touch
    wait: true
`,
  // Two levels: the child it makes triggers again, from the params it was given.
  'web.relay.book.yaml': `name: web.relay
kind: web
action: relay
unique: none
${PARAMS}steps:
  - name: child
    kind: trigger
    action: fanout
    params: { target: "{{params.target}}" }
    wait: true
`,
  'web.chained.book.yaml': `name: web.chained
kind: web
action: chained
unique: none
${PARAMS}steps:
  - name: work
    kind: shell
    run: "echo work"
on_success:
  - trigger: { action: touch, deployment: "{{params.target}}" }
`,
  'web.touch.book.yaml': `name: web.touch
kind: web
action: touch
unique: none
steps:
  - name: touch
    kind: shell
    run: "echo touched"
`,
};

describe('scoped writes: a token limited to cluster `other`', () => {
  let app: TestApp;
  let booksDir: string;
  let operator: string;
  let scopedAdmin: string;

  const call = (token: string, method: string, path: string, body?: unknown) => callAs(app.url, token, method, path, body);
  const ended = (id: string) =>
    until(
      `job ${id} to end`,
      async () => {
        const { job } = (await app.api('GET', `/api/jobs/${id}`)).body;
        return ['done', 'error', 'cancel'].includes(job.state) ? job : undefined;
      },
      60_000,
    );
  const touches = async (deployment: string) =>
    (await app.api('GET', `/api/jobs?deployment=${deployment}&book=web.touch`)).body.jobs.length as number;
  const trigger = async (token: string, deployment: string, action: string, target: string) => {
    const response = await call(token, 'POST', `/api/deployments/${deployment}/actions/${action}`, { params: { target } });
    expect(response.status).toBe(202);
    return ended(response.body.job.id as string);
  };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-scoped-writes-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    for (const [file, text] of Object.entries(BOOKS)) writeFileSync(join(booksDir, file), text);
    app = await startTestApp({ booksDir, env: { QUIRE_POLL_MS: '200' } });
    const other = (await app.api('GET', '/api/clusters/other')).body.cluster;
    const tokens = app.server.app.get(TokensService);
    operator = (await tokens.create('other operator', 'operator', [other.id])).token;
    scopedAdmin = (await tokens.create('other admin', 'admin', [other.id])).token;
  });

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it('fails a trigger step whose target is outside the scope of whoever triggered the root', async () => {
    const job = await trigger(operator, 'app-other', 'fanout', 'app-main');
    expect(job.state).toBe('error');
    const step = job.steps.find((s: { name: string }) => s.name === 'child');
    expect(step.state).toBe('error');
    expect(step.error).toMatch(/deployment 'app-main' not found among the clusters this job may act on/);
    expect(await touches('app-main')).toBe(0);

    // A name that does not exist reads the same: the message does not tell which records exist.
    const missing = await trigger(operator, 'app-other', 'fanout', 'nosuch');
    expect(missing.steps.find((s: { name: string }) => s.name === 'child').error).toBe(step.error.replace('app-main', 'nosuch'));

    // Inside its scope the same book works, and the unscoped admin may reach anywhere.
    expect((await trigger(operator, 'app-other', 'fanout', 'app-other-2')).state).toBe('done');
    expect(await touches('app-other-2')).toBe(1);
    expect((await trigger(app.token, 'app-other', 'fanout', 'app-main')).state).toBe('done');
    expect(await touches('app-main')).toBe(1);
  }, 120_000);

  it('keeps the root scope through a child that triggers again', async () => {
    const before = await touches('app-main');
    const job = await trigger(operator, 'app-other', 'relay', 'app-main');
    expect(job.state).toBe('error');
    expect(job.steps[0].error).toMatch(/ended error/);
    expect(await touches('app-main')).toBe(before);
  }, 120_000);

  it('records an on_success link outside the scope as a chain error and creates no job', async () => {
    const before = await touches('app-main');
    const job = await trigger(operator, 'app-other', 'chained', 'app-main');
    expect(job.state).toBe('done');
    const withErrors = await until('the chain error to be recorded', async () => {
      const { job: read } = (await app.api('GET', `/api/jobs/${job.id}`)).body;
      return read.chain_errors?.length ? read : undefined;
    });
    expect(withErrors.chain_errors).toEqual([
      expect.objectContaining({
        link: 'on_success',
        index: 0,
        action: 'touch',
        error: expect.stringMatching(/deployment 'app-main' not found among the clusters/),
      }),
    ]);
    expect(await touches('app-main')).toBe(before);

    const inside = await trigger(operator, 'app-other', 'chained', 'app-other-2');
    await until('the chained job in scope', async () => ((await touches('app-other-2')) >= 2 ? true : undefined));
    expect((await app.api('GET', `/api/jobs/${inside.id}`)).body.job.chain_errors).toEqual([]);
  }, 120_000);

  it('refuses POST /api/books/reload to a scoped admin, and lets an unscoped one reload', async () => {
    const refused = await call(scopedAdmin, 'POST', '/api/books/reload');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/reloading books.*not limited to some clusters/);
    expect((await app.api('POST', '/api/books/reload')).status).toBe(200);
  });
});
