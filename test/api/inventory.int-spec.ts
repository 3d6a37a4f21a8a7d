// Inventory writes through the real API on a real PostgreSQL: every create, update and
// delete, each refusal with its status and every error, and that a refused call changes nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { PING_BOOK } from '../support/books.js';

describe('inventory writes', () => {
  let app: TestApp;
  let booksDir: string;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-inventory-'));
    writeFileSync(join(booksDir, 'web.ping.book.yaml'), PING_BOOK);
    // No worker: a triggered job stays unfinished for as long as a test needs it.
    app = await startTestApp({ booksDir, engine: false });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  /** Every inventory row as stored: what a refused call must leave exactly as it was. */
  const rows = (sql: string): Promise<unknown[]> => app.server.database.dataSource.query(sql);
  const inventory = async () => ({
    clusters: await rows('SELECT id, name, vars, date_updated FROM clusters ORDER BY name'),
    groups: await rows('SELECT id, cluster_id, name, vars, date_updated FROM deployment_groups ORDER BY name'),
    deployments: await rows('SELECT id, name, kind, vars, state, group_id, cluster_id, date_updated FROM deployments ORDER BY name'),
  });
  const fields = (body: any) => (body.details as Array<{ field: string }>).map((d) => d.field).sort();

  /** Runs `calls`, expecting each to be refused with `status`, and the inventory to be unchanged. */
  async function refused(status: number, calls: Array<[string, string, unknown?]>): Promise<any[]> {
    const before = await inventory();
    const bodies: any[] = [];
    for (const [method, path, body] of calls) {
      const response = await app.api(method, path, body);
      expect({ call: `${method} ${path}`, status: response.status }).toEqual({ call: `${method} ${path}`, status });
      bodies.push(response.body);
    }
    expect(await inventory()).toEqual(before);
    return bodies;
  }

  it('creates, updates and deletes clusters, groups and deployments', async () => {
    const cluster = await app.api('POST', '/api/clusters', { name: 'eu', vars: { region: 'eu-west' } });
    expect([cluster.status, cluster.body.cluster.name, cluster.body.cluster.vars]).toEqual([201, 'eu', { region: 'eu-west' }]);
    const group = await app.api('POST', '/api/groups', { name: 'shop', cluster: 'eu', vars: { tier: 1 } });
    expect([group.status, group.body.group.cluster_id]).toEqual([201, cluster.body.cluster.id]);
    const deployment = await app.api('POST', '/api/deployments', { name: 'web-1', kind: 'web', group: 'shop', vars: { port: 80 } });
    expect(deployment.status).toBe(201);
    expect(deployment.body.deployment).toMatchObject({
      state: 'draft',
      group_id: group.body.group.id,
      cluster_id: cluster.body.cluster.id,
    });

    expect((await app.api('PATCH', '/api/clusters/eu', { vars: { region: 'eu-central' } })).body.cluster.vars).toEqual({
      region: 'eu-central',
    });
    expect((await app.api('PATCH', '/api/groups/eu%2Fshop', { name: 'store' })).body.group.name).toBe('store');
    const patched = await app.api('PATCH', '/api/deployments/web-1', { name: 'web-one', vars: { port: 81 }, state: 'paused' });
    expect(patched.body.deployment).toMatchObject({ name: 'web-one', vars: { port: 81 }, state: 'paused', group_id: group.body.group.id });
    expect((await app.api('GET', `/api/groups/${group.body.group.id}`)).body.group).toMatchObject({ name: 'store', vars: { tier: 1 } });

    // placed directly in a cluster, then moved into a group of it
    const loose = await app.api('POST', '/api/deployments', { name: 'web-2', kind: 'web', cluster: 'eu' });
    expect(loose.body.deployment).toMatchObject({ group_id: null, cluster_id: cluster.body.cluster.id });
    expect((await app.api('PATCH', '/api/deployments/web-2', { group: 'store', cluster: 'eu' })).body.deployment.group_id).toBe(
      group.body.group.id,
    );

    for (const path of ['/api/deployments/web-one', '/api/deployments/web-2', '/api/groups/eu%2Fstore', '/api/clusters/eu']) {
      expect({ path, status: (await app.api('DELETE', path)).status }).toEqual({ path, status: 204 });
      expect({ path, status: (await app.api('GET', path)).status }).toEqual({ path, status: 404 });
    }
    expect(await inventory()).toEqual({ clusters: [], groups: [], deployments: [] });
  });

  describe('refusals', () => {
    let job: string;
    beforeAll(async () => {
      await app.api('POST', '/api/clusters', { name: 'us' });
      await app.api('POST', '/api/clusters', { name: 'ap' });
      await app.api('POST', '/api/groups', { name: 'api', cluster: 'us' });
      await app.api('POST', '/api/groups', { name: 'edge', cluster: 'ap' });
      await app.api('POST', '/api/deployments', { name: 'api-1', kind: 'web', group: 'api' });
      await app.api('POST', '/api/deployments', { name: 'api-2', kind: 'web', group: 'api' });
      job = (await app.api('POST', '/api/deployments/api-1/actions/ping', {})).body.job.id;
    });

    it('answers 400 listing every error of a bad body', async () => {
      const [cluster, group, deployment, patchCluster, patchDeployment, notObject] = await refused(400, [
        ['POST', '/api/clusters', { name: 'bad name', vars: 5, colour: 'blue' }],
        ['POST', '/api/groups', { name: '', vars: [] }],
        ['POST', '/api/deployments', { name: 'x/y', kind: 7, group: 3, cluster: false }],
        ['PATCH', '/api/clusters/us', { name: '-us', vars: 'none' }],
        ['PATCH', '/api/deployments/api-2', { state: 'not a state', kind: '', group: 1, replicas: 2 }],
        ['POST', '/api/deployments', [{ name: 'api-3', kind: 'web' }]],
      ]);
      expect(fields(cluster)).toEqual(['colour', 'name', 'vars']);
      expect(fields(group)).toEqual(['cluster', 'name', 'vars']);
      expect(fields(deployment)).toEqual(['cluster', 'group', 'kind', 'name']);
      expect(fields(patchCluster)).toEqual(['name', 'vars']);
      expect(fields(patchDeployment)).toEqual(['group', 'kind', 'replicas', 'state']);
      expect(notObject.details).toHaveLength(1);
      expect(cluster.message).toMatch(/^invalid request body: /);
    });

    it('answers 404 for an unknown record or placement', async () => {
      await refused(404, [
        ['PATCH', '/api/clusters/nope', { vars: {} }],
        ['PATCH', '/api/groups/us%2Fnope', { vars: {} }],
        ['PATCH', '/api/deployments/nope', { vars: {} }],
        ['DELETE', '/api/clusters/nope'],
        ['DELETE', '/api/groups/nope'],
        ['DELETE', '/api/deployments/nope'],
        ['POST', '/api/groups', { name: 'g', cluster: 'nope' }],
        ['POST', '/api/deployments', { name: 'api-3', kind: 'web', group: 'nope' }],
        ['PATCH', '/api/deployments/api-2', { vars: { changed: true }, cluster: 'nope' }],
        // by name, a group is looked for in the cluster given with it
        ['PATCH', '/api/deployments/api-2', { vars: { changed: true }, group: 'edge', cluster: 'us' }],
      ]);
    });

    it('answers 409 for a name already taken', async () => {
      const [cluster, , , rename] = await refused(409, [
        ['POST', '/api/clusters', { name: 'us' }],
        ['POST', '/api/groups', { name: 'api', cluster: 'us' }],
        ['POST', '/api/deployments', { name: 'api-1', kind: 'web' }],
        ['PATCH', '/api/deployments/api-2', { name: 'api-1', vars: { changed: true } }],
        ['PATCH', '/api/clusters/ap', { name: 'us' }],
      ]);
      expect(cluster.message).toBe("cluster 'us' already exists");
      expect(rename.message).toBe("deployment 'api-1' already exists");
    });

    it('answers 409 when concurrent creates race for one name, creating it once', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => app.api('POST', '/api/clusters', { name: 'race' })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
      expect(results.filter((r) => r.status === 409).every((r) => r.body.message === "cluster 'race' already exists")).toBe(true);
      expect((await app.api('DELETE', '/api/clusters/race')).status).toBe(204);
    });

    it('answers 409 when a group given by id is put in a cluster it is not part of', async () => {
      const edge = (await app.api('GET', '/api/groups/edge')).body.group.id;
      const [moved] = await refused(409, [
        ['PATCH', '/api/deployments/api-2', { group: edge, cluster: 'us', vars: { changed: true } }],
        ['POST', '/api/deployments', { name: 'api-3', kind: 'web', group: edge, cluster: 'us' }],
      ]);
      expect(moved.message).toBe("group 'edge' is in cluster 'ap', not in 'us'");
    });

    it('answers 409 deleting a cluster or group still in use', async () => {
      const [cluster, group] = await refused(409, [
        ['DELETE', '/api/clusters/us'],
        ['DELETE', '/api/groups/us%2Fapi'],
      ]);
      expect(cluster.message).toBe("cluster 'us' still has 1 group(s) and 2 deployment(s)");
      expect(group.message).toBe("group 'api' still has 2 deployment(s)");
    });

    it('never leaves a live job on a deployment deleted while it was being triggered', async () => {
      for (let i = 0; i < 12; i++) {
        const name = `racer-${i}`;
        expect((await app.api('POST', '/api/deployments', { name, kind: 'web', group: 'api' })).status).toBe(201);
        const id = (await app.api('GET', `/api/deployments/${name}`)).body.deployment.id;
        const [trigger, remove] = await Promise.all([
          app.api('POST', `/api/deployments/${name}/actions/ping`, {}),
          app.api('DELETE', `/api/deployments/${name}`),
        ]);
        const live = await rows(`SELECT id FROM jobs WHERE deployment_id = '${id}' AND state IN ('scheduled', 'running')`);
        // Either the trigger came first (the delete is refused) or the delete did (no job).
        if (remove.status === 204) {
          expect({ trigger: trigger.status, live: live.length }).toEqual({ trigger: 404, live: 0 });
        } else {
          expect({ trigger: trigger.status, remove: remove.status, live: live.length }).toEqual({ trigger: 202, remove: 409, live: 1 });
          expect((await app.api('POST', `/api/jobs/${trigger.body.job.id}/cancel`)).status).toBe(200);
          expect((await app.api('DELETE', `/api/deployments/${name}`)).status).toBe(204);
        }
      }
    });

    it('answers 409 deleting a deployment with unfinished jobs, and deletes it once they ended', async () => {
      const [body] = await refused(409, [['DELETE', '/api/deployments/api-1']]);
      expect(body.message).toBe("deployment 'api-1' has 1 unfinished job(s)");
      expect((await app.api('POST', `/api/jobs/${job}/cancel`)).status).toBe(200);
      expect((await app.api('DELETE', '/api/deployments/api-1')).status).toBe(204);
    });
  });
});
