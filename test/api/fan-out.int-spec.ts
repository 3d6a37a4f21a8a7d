// Issue 9, the fleet scenario: one request triggers a deployment action on every deployment of a
// group or cluster. Each job is what its own trigger would have made (book by kind, allowed_from,
// params, `unique`, the caller's clusters), stored with its event in the same commit; a
// deployment refused is reported and the others still get their job.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callAs, startTestApp, type TestApp } from '../support/app.js';
import { TokensService } from '../../src/auth/tokens.service.js';

const INVENTORY = `clusters:
  - name: eu
    groups:
      - name: shop
        deployments:
${['web-1', 'web-2', 'web-3', 'web-4'].map((n) => `          - { name: ${n}, kind: web, vars: { port: 80 } }`).join('\n')}
          - { name: db-1, kind: db }
      - name: edge
        deployments:
          - { name: web-5, kind: web, vars: { port: 81 } }
          - { name: web-noport, kind: web }
  - name: us
    groups:
      - name: shop
        deployments:
          - { name: web-9, kind: web, vars: { port: 82 } }
`;

const UPGRADE_BOOK = `name: web.upgrade
kind: web
action: upgrade
allowed_from: [draft]
params:
  type: object
  required: [version]
  properties:
    version: { type: string }
steps:
  - name: pull
    kind: shell
    run: "echo {{params.version}} {{step.data.port}}"
    serialize:
      port: "{{deployment.vars.port}}"
  - { name: start, kind: shell, run: "true" }
`;

describe('fan-out triggers', () => {
  let app: TestApp;
  let booksDir: string;
  let usOperator: string;
  let viewer: string;
  const sql = (text: string, params: unknown[] = []): Promise<any[]> => app.server.database.dataSource.query(text, params);

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-fan-out-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    writeFileSync(join(booksDir, 'web.upgrade.book.yaml'), UPGRADE_BOOK);
    // No worker: the jobs stay as they were created.
    app = await startTestApp({ booksDir, engine: false });
    const us = (await app.api('GET', '/api/clusters/us')).body.cluster;
    const tokens = app.server.app.get(TokensService);
    usOperator = (await tokens.create('us operator', 'operator', [us.id])).token;
    viewer = (await tokens.create('viewer', 'viewer')).token;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it("makes each deployment's job as its own trigger would, with its event, and reports the ones refused", async () => {
    await app.api('PATCH', '/api/deployments/web-2', { state: 'paused' });
    const single = await app.api('POST', '/api/deployments/web-1/actions/upgrade', { params: { version: '2' } });
    expect(single.status).toBe(202);

    const { status, body } = await app.api('POST', '/api/clusters/eu/deployments/actions/upgrade', { params: { version: '2' } });
    expect(status).toBe(202);
    // web-1 has the same live job (unique: the same params get it back); web-2 is paused;
    // web-noport lacks a var its serialize reads; db-1's kind has no upgrade book.
    expect({ created: body.created, existing: body.existing }).toEqual({ created: 3, existing: 1 });
    expect(body.jobs.map((j: any) => [j.deployment, j.created]).sort()).toEqual([
      ['web-1', false],
      ['web-3', true],
      ['web-4', true],
      ['web-5', true],
    ]);
    expect(body.jobs.find((j: any) => j.deployment === 'web-1').id).toBe(single.body.job.id);
    expect(body.refused.map((r: any) => [r.deployment, r.error]).sort()).toEqual([
      ['db-1', 'not_found'],
      ['web-2', 'state_conflict'],
      ['web-noport', 'invalid_params'],
    ]);

    // The same job a single trigger makes: compare web-3's with web-1's, ids and names aside.
    const created = body.jobs.filter((j: any) => j.created).map((j: any) => j.id);
    const [one, fanned] = [single.body.job, (await app.api('GET', `/api/jobs/${created[0]}`)).body.job];
    const shape = (job: any) => ({
      state: job.state,
      book: job.book,
      params: job.params,
      steps: job.steps.map((s: any) => [s.name, s.state, s.estimated_duration, s.timeout]),
      activity: job.activity.map((a: any) => [a.by, a.what]),
      triggered_by: job.triggered_by,
    });
    expect(shape(fanned)).toEqual(shape(one));
    expect(fanned.steps[0].data).toEqual({ port: expect.any(Number) });
    // Each job's `scheduled` event is stored with it.
    const events = await sql(`SELECT job_id, payload->>'state' AS state FROM deploy_events WHERE type = 'job' AND job_id = ANY($1::uuid[])`, [created]);
    expect(events.map((e) => e.state)).toEqual(['scheduled', 'scheduled', 'scheduled']);
    expect(new Set(events.map((e) => e.job_id))).toEqual(new Set(created));
  });

  it('refuses other params where a live job exists, and filters by kind and group', async () => {
    const again = await app.api('POST', '/api/groups/eu%2Fshop/deployments/actions/upgrade', { params: { version: '3' }, kind: 'web' });
    expect(again.status).toBe(202);
    expect(again.body.created).toBe(0);
    expect(again.body.refused.map((r: any) => [r.deployment, r.error]).sort()).toEqual([
      ['web-1', 'conflict'],
      ['web-2', 'state_conflict'],
      ['web-3', 'conflict'],
      ['web-4', 'conflict'],
    ]);
  });

  it("keeps to the caller's clusters and role", async () => {
    const hidden = await callAs(app.url, usOperator, 'POST', '/api/clusters/eu/deployments/actions/upgrade', { params: { version: '2' } });
    expect(hidden.status).toBe(404);
    const own = await callAs(app.url, usOperator, 'POST', '/api/clusters/us/deployments/actions/upgrade', { params: { version: '2' } });
    expect([own.status, own.body.jobs.map((j: any) => j.deployment)]).toEqual([202, ['web-9']]);
    const [job] = await sql(`SELECT scope_clusters, triggered_by FROM jobs WHERE id = $1`, [own.body.jobs[0].id]);
    expect(job.scope_clusters).toHaveLength(1);
    expect((await callAs(app.url, viewer, 'POST', '/api/clusters/us/deployments/actions/upgrade', {})).status).toBe(403);
    const bad = await app.api('POST', '/api/clusters/us/deployments/actions/upgrade', { params: { version: '2' }, kinds: ['web'] });
    expect(bad.status).toBe(400);
  });
});
