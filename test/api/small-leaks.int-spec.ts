// Issue 8 item 10: what a token may not see must not show through side doors. A record outside
// the token's clusters answers exactly like a missing one, filters naming one too; /metrics
// (global counts) is for unscoped tokens; pages may not be framed; no X-Powered-By. /api/docs
// stays public by design (the README's Security section says so).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { mainAndOtherInventory, PING_BOOK } from '../support/books.js';
import { TokensService } from '../../src/auth/tokens.service.js';

describe('small leaks', () => {
  let app: TestApp;
  let booksDir: string;
  let scoped: string;
  let unscopedViewer: string;

  const call = async (token: string | null, path: string) => {
    const response = await fetch(app.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: body as { message?: string }, headers: response.headers };
  };
  /** The answers for a hidden record and a missing one, with each name blanked out, must match. */
  const indistinguishable = async (path: (ref: string) => string, hidden: string, missing: string) => {
    const a = await call(scoped, path(hidden));
    const b = await call(scoped, path(missing));
    expect(a.status).toBe(404);
    expect({ status: a.status, body: JSON.stringify(a.body).split(hidden).join('X') }).toEqual({
      status: b.status,
      body: JSON.stringify(b.body).split(missing).join('X'),
    });
  };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-leaks-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), mainAndOtherInventory());
    writeFileSync(join(booksDir, 'web.ping.book.yaml'), PING_BOOK);
    app = await startTestApp({ booksDir, engine: false });
    const other = (await app.api('GET', '/api/clusters/other')).body.cluster;
    const tokens = app.server.app.get(TokensService);
    scoped = (await tokens.create('other viewer', 'viewer', [other.id])).token;
    unscopedViewer = (await tokens.create('viewer', 'viewer')).token;
  });

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it('answers a record of another cluster exactly like a missing one', async () => {
    const job = (await app.api('POST', '/api/deployments/app-main/actions/ping', {})).body.job;
    await indistinguishable((id) => `/api/jobs/${id}`, job.id, '00000000-0000-4000-8000-000000000000');
    await indistinguishable((ref) => `/api/deployments/${ref}`, 'app-main', 'nosuch');
    await indistinguishable((ref) => `/api/groups/${ref}`, 'g-main', 'nosuch');
    await indistinguishable((ref) => `/api/clusters/${ref}`, 'main', 'nosuch');
  });

  it('treats a filter naming a record of another cluster like one naming nothing', async () => {
    await indistinguishable((ref) => `/api/groups?cluster=${ref}`, 'main', 'nosuch');
    await indistinguishable((ref) => `/api/deployments?cluster=${ref}`, 'main', 'nosuch');
    await indistinguishable((ref) => `/api/deployments?group=${ref}`, 'g-main', 'nosuch');
    await indistinguishable((ref) => `/api/jobs?deployment=${ref}`, 'app-main', 'nosuch');
    await indistinguishable((ref) => `/api/schedules?deployment=${ref}`, 'app-main', 'nosuch');
    // Its own cluster filters as before.
    expect((await call(scoped, '/api/deployments?cluster=other')).body).toMatchObject({
      deployments: [expect.objectContaining({ name: 'app-other' })],
    });
  });

  it('keeps /metrics (counts over every cluster) from scoped tokens', async () => {
    const refused = await call(scoped, '/metrics');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/not limited to some clusters/);
    expect((await call(unscopedViewer, '/metrics')).status).toBe(200);
  });

  it('forbids framing and names no framework, on the API, the portal and errors', async () => {
    for (const [token, path] of [
      [null, '/health'],
      [null, '/'],
      [app.token, '/api/books'],
      [null, '/api/jobs'],
      [app.token, '/api/nosuch'],
    ] as const) {
      const { headers } = await call(token, path);
      expect([path, headers.get('x-frame-options')]).toEqual([path, 'DENY']);
      expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(headers.get('x-powered-by')).toBeNull();
    }
  });

  it('serves /api/docs without a token, by design: it describes routes, never data', async () => {
    const docs = await call(null, '/api/docs-json');
    expect(docs.status).toBe(200);
  });
});
