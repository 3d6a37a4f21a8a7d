// Issue 9, the fleet scenario: `GET /api/deployments` and `GET /api/jobs` page by keyset. Walking
// the pages by `next_cursor` gives every record exactly once, in order, with the filters and a
// token's clusters applied before the page is cut; the page size has a default and a cap.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callAs, startTestApp, type TestApp } from '../support/app.js';
import { mainAndOtherInventory, PING_BOOK } from '../support/books.js';
import { TokensService } from '../../src/auth/tokens.service.js';

const OTHER = Array.from({ length: 11 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);

describe('paged lists', () => {
  let app: TestApp;
  let booksDir: string;
  let scoped: string;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-paging-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), mainAndOtherInventory(OTHER));
    writeFileSync(join(booksDir, 'web.ping.book.yaml'), PING_BOOK);
    // No worker: the jobs stay as they were created.
    app = await startTestApp({ booksDir, engine: false });
    const other = (await app.api('GET', '/api/clusters/other')).body.cluster;
    scoped = (await app.server.app.get(TokensService).create('other viewer', 'viewer', [other.id])).token;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  /** Follows next_cursor from `first` to the last page; returns every page's items. */
  async function walk(first: string, key: 'deployments' | 'jobs', token?: string): Promise<{ pages: any[][]; items: any[] }> {
    const pages: any[][] = [];
    let path: string | null = first;
    while (path) {
      const { status, body }: { status: number; body: any } = token
        ? await callAs(app.url, token, 'GET', path)
        : await app.api('GET', path);
      expect({ path, status }).toEqual({ path, status: 200 });
      pages.push(body[key]);
      const separator: string = first.includes('?') ? '&' : '?';
      path = body.next_cursor === null ? null : `${first}${separator}cursor=${encodeURIComponent(body.next_cursor)}`;
      if (pages.length > 20) throw new Error('the pages do not end');
    }
    return { pages, items: pages.flat() };
  }

  it('pages deployments in name order, each once, the next_cursor null on the last page', async () => {
    const everyone = [...OTHER, 'app-main', 'app-other'].sort();
    const { pages, items } = await walk('/api/deployments?limit=4', 'deployments');
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 1]);
    expect(items.map((d) => d.name)).toEqual(everyone);
    // no limit: the default page (100) holds them all, and says there is no next one
    const { body } = await app.api('GET', '/api/deployments');
    expect([body.deployments.length, body.next_cursor]).toEqual([13, null]);
    // filters apply before the page is cut
    expect((await walk('/api/deployments?cluster=other&limit=5', 'deployments')).items.map((d) => d.name)).toEqual(['app-other', ...OTHER]);
    expect((await walk('/api/deployments?group=g-main&limit=1', 'deployments')).items.map((d) => d.name)).toEqual(['app-main']);
  });

  it("pages only the token's clusters: full pages, never another cluster's deployment", async () => {
    const { pages, items } = await walk('/api/deployments?limit=6', 'deployments', scoped);
    expect(pages.map((p) => p.length)).toEqual([6, 6]);
    expect(items.map((d) => d.name)).toEqual(['app-other', ...OTHER]);
  });

  it('caps the page size and refuses a cursor it did not give', async () => {
    const capped = await app.api('GET', '/api/deployments?limit=5000');
    expect([capped.status, capped.body.deployments.length]).toEqual([200, 13]);
    for (const cursor of ['%20', 'not%2Fbase64', 'AA']) {
      const refused = await app.api('GET', `/api/deployments?cursor=${cursor}`);
      expect([cursor, refused.status, refused.body.details[0].field]).toEqual([cursor, 400, 'cursor']);
    }
    expect((await app.api('GET', '/api/deployments?limit=ten')).status).toBe(400);
  });

  it('pages jobs newest first, each once, with the filters and through equal creation times', async () => {
    const ids: string[] = [];
    for (const name of OTHER.slice(0, 7)) ids.push((await app.api('POST', `/api/deployments/${name}/actions/ping`, {})).body.job.id);
    ids.push((await app.api('POST', '/api/deployments/app-main/actions/ping', {})).body.job.id);
    // Two jobs created at the same instant: the id breaks the tie, and neither page loses one.
    await app.server.database.dataSource.query(
      `UPDATE jobs SET date_created = (SELECT date_created FROM jobs WHERE id = $1) WHERE id = $2`,
      [ids[3], ids[4]],
    );
    const stored = (await app.server.database.dataSource.query(`SELECT id FROM jobs ORDER BY date_created DESC, id DESC`)) as {
      id: string;
    }[];
    const { pages, items } = await walk('/api/jobs?limit=3', 'jobs');
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(items.map((j) => j.id)).toEqual(stored.map((r) => r.id));
    const main = await walk('/api/jobs?limit=3&target=app-main', 'jobs');
    expect(main.items.map((j) => j.id)).toEqual([ids[7]]);
    const scopedJobs = await walk('/api/jobs?limit=2', 'jobs', scoped);
    expect(scopedJobs.items.map((j) => j.id).sort()).toEqual(ids.slice(0, 7).sort());
    expect((await app.api('GET', '/api/jobs')).body.next_cursor).toBeNull();
  });

  it('refuses a cursor that names no job (removed since, made up, or in a cluster the token cannot see)', async () => {
    for (const cursor of ['00000000-0000-4000-8000-000000000000', 'x']) {
      const refused = await app.api('GET', `/api/jobs?cursor=${cursor}`);
      expect([cursor, refused.status, refused.body.details[0].field]).toEqual([cursor, 400, 'cursor']);
    }
    const hidden = (await app.api('GET', '/api/jobs?target=app-main')).body.jobs[0].id;
    const missing = '00000000-0000-4000-8000-000000000000';
    const [a, b] = [
      await callAs(app.url, scoped, 'GET', `/api/jobs?cursor=${hidden}`),
      await callAs(app.url, scoped, 'GET', `/api/jobs?cursor=${missing}`),
    ];
    expect({ status: a.status, body: JSON.stringify(a.body).split(hidden).join('X') }).toEqual({
      status: 400,
      body: JSON.stringify(b.body).split(missing).join('X'),
    });
  });
});
