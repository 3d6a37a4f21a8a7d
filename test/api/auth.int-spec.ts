// Every API call is authenticated and authorised: roles, and tokens limited to clusters.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { TokensService } from '../../src/auth/tokens.service.js';
import { PING_BOOK } from '../support/books.js';

const INVENTORY = `clusters:
  - name: east
    groups: [{ name: g, deployments: [{ name: east-1, kind: web }] }]
  - name: west
    groups: [{ name: g, deployments: [{ name: west-1, kind: web }] }]
`;
describe('authorisation', () => {
  let app: TestApp;
  let dir: string;
  const tokens: Record<string, string> = {};
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(app.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (response.status === 204 ? null : await response.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quire-auth-'));
    writeFileSync(join(dir, 'inventory.yaml'), INVENTORY);
    writeFileSync(join(dir, 'web.ping.book.yaml'), PING_BOOK);
    app = await startTestApp({ booksDir: dir, engine: false });
    const service = app.server.app.get(TokensService);
    const west = (await app.api('GET', '/api/clusters/west')).body.cluster.id;
    tokens.viewer = (await service.create('v', 'viewer')).token;
    tokens.operator = (await service.create('o', 'operator')).token;
    tokens.westOperator = (await service.create('wo', 'operator', [west])).token;
    tokens.westAdmin = (await service.create('wa', 'admin', [west])).token;
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a viewer read but not trigger', async () => {
    expect((await call(tokens.viewer!, 'GET', '/api/deployments')).status).toBe(200);
    expect((await call(tokens.viewer!, 'POST', '/api/deployments/east-1/actions/ping', {})).status).toBe(403);
  });

  it('lets an operator trigger and cancel, but not manage inventory or books', async () => {
    const { status, body } = await call(tokens.operator!, 'POST', '/api/deployments/east-1/actions/ping', {});
    expect(status).toBe(202);
    expect((await call(tokens.operator!, 'POST', `/api/jobs/${body.job.id}/cancel`)).status).toBe(200);
    expect((await call(tokens.operator!, 'POST', '/api/clusters', { name: 'north' })).status).toBe(403);
    expect((await call(tokens.operator!, 'POST', '/api/books/reload')).status).toBe(403);
    expect((await app.api('POST', '/api/clusters', { name: 'north' })).status).toBe(201);
  });

  it('limits a cluster-scoped token to its cluster, reporting the rest as missing', async () => {
    const eastJob = (await call(tokens.operator!, 'POST', '/api/deployments/east-1/actions/ping', {})).body.job;
    const west = tokens.westOperator!;
    const names = (await call(west, 'GET', '/api/deployments')).body.deployments.map((d: any) => d.name);
    expect(names).toEqual(['west-1']);
    expect((await call(west, 'GET', '/api/deployments/east-1')).status).toBe(404);
    expect((await call(west, 'POST', '/api/deployments/east-1/actions/ping', {})).status).toBe(404);
    expect((await call(west, 'POST', '/api/deployments/west-1/actions/ping', {})).status).toBe(202);
    expect((await call(west, 'GET', `/api/jobs/${eastJob.id}`)).status).toBe(404);
    expect((await call(west, 'POST', `/api/jobs/${eastJob.id}/cancel`)).status).toBe(404);
    const jobs = (await call(west, 'GET', '/api/jobs')).body.jobs;
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((j: any) => j.deployment === 'west-1')).toBe(true);
  });

  it('limits the inventory writes of a cluster-scoped admin to its cluster', async () => {
    const admin = tokens.westAdmin!;
    const before = (await app.api('GET', '/api/deployments')).body.deployments;
    const refused = [
      await call(admin, 'POST', '/api/clusters', { name: 'south' }),
      await call(admin, 'PATCH', '/api/clusters/east', { vars: { x: 1 } }),
      await call(admin, 'DELETE', '/api/clusters/east'),
      await call(admin, 'POST', '/api/groups', { name: 'g2', cluster: 'east' }),
      await call(admin, 'PATCH', '/api/groups/east%2Fg', { vars: { x: 1 } }),
      await call(admin, 'DELETE', '/api/groups/east%2Fg'),
      await call(admin, 'POST', '/api/deployments', { name: 'east-2', kind: 'web', group: 'g', cluster: 'east' }),
      await call(admin, 'POST', '/api/deployments', { name: 'nowhere', kind: 'web' }),
      await call(admin, 'PATCH', '/api/deployments/east-1', { vars: { x: 1 } }),
      await call(admin, 'PATCH', '/api/deployments/west-1', { group: 'g', cluster: 'east' }),
      await call(admin, 'DELETE', '/api/deployments/east-1'),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404]);
    expect((await app.api('GET', '/api/deployments')).body.deployments).toEqual(before);
    expect((await call(admin, 'PATCH', '/api/deployments/west-1', { vars: { x: 1 } })).body.deployment.vars).toEqual({ x: 1 });
    expect((await call(admin, 'POST', '/api/groups', { name: 'g2', cluster: 'west' })).status).toBe(201);
  });

  it("never hands a cluster-scoped token another cluster's job through an Idempotency-Key", async () => {
    const keyed = (token: string, deployment: string) =>
      fetch(`${app.url}/api/deployments/${deployment}/actions/ping`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'known-key' },
        body: '{}',
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const east = await keyed(tokens.operator!, 'east-1');
    expect(east.status).toBe(202);
    expect((await keyed(tokens.westOperator!, 'east-1')).status).toBe(404);
    const west = await keyed(tokens.westOperator!, 'west-1');
    expect(west.status).toBe(202);
    expect(west.body.job.id).not.toBe(east.body.job.id);
    expect(west.body.job.deployment).toBe('west-1');
  });
});

describe('the documented API', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ booksDir: 'test/fixtures/service-books', engine: false });
  });
  afterAll(async () => app?.close());

  it('serves an OpenAPI document listing the routes, with bearer auth', async () => {
    const doc: any = await (await fetch(`${app.url}/api/docs-json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/deployments/{target}/actions/{action}', '/api/jobs/{id}', '/api/books/plan']));
    expect(doc.components.securitySchemes.bearer).toBeDefined();
    expect(doc.paths['/api/deployments/{target}/actions/{action}'].post.requestBody).toBeDefined();
  });

  it('serves Prometheus metrics to token holders only', async () => {
    expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
    const response = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${app.token}` } });
    expect(await response.text()).toMatch(/^# HELP quire_jobs/m);
  });
});
