// Tokens through the API (issue 7 item 3): admins create, list and revoke them, a scoped admin
// only within its own clusters; the secret is shown once and only its hash is stored; any valid
// token can ask who it is; an expired or revoked token is refused on REST and on socket.io, and
// an open connection is closed when its token expires.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { connectSocket } from '../support/sockets.js';
import { callAs, startTestApp, type TestApp } from '../support/app.js';
import { mainAndOtherInventory, PING_BOOK } from '../support/books.js';
import { until } from '../support/processes.js';

interface TokenView {
  id: string;
  name: string;
  role: string;
  prefix: string;
  clusters: { id: string; name: string }[] | null;
  expires_at: string | null;
  revoked_at: string | null;
}

describe('tokens API', () => {
  let app: TestApp;
  let booksDir: string;
  const sockets: Socket[] = [];

  const call = (token: string, method: string, path: string, body?: unknown) => callAs(app.url, token, method, path, body);
  const mint = async (body: Record<string, unknown>, as = app.token) => {
    const created = await call(as, 'POST', '/api/tokens', body);
    expect(created.status).toBe(201);
    return created.body as { token: TokenView; secret: string };
  };
  const count = async () => Number((await app.server.database.dataSource.query('SELECT count(*) AS n FROM api_tokens'))[0].n);
  const connect = (token: string) => connectSocket(app.url, token, sockets);

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-tokens-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), mainAndOtherInventory());
    writeFileSync(join(booksDir, 'web.ping.book.yaml'), PING_BOOK);
    app = await startTestApp({ booksDir, engine: false, env: { QUIRE_TOKEN_RECHECK_SECONDS: '1' } });
  });

  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it('creates a token shown once, stores only its hash, and lists it without the secret', async () => {
    const { token, secret } = await mint({ name: 'ci deploys', role: 'operator' });
    expect(secret).toMatch(/^qr_/);
    expect(token).toMatchObject({
      name: 'ci deploys',
      role: 'operator',
      prefix: secret.slice(0, 8),
      clusters: null,
      expires_at: null,
      revoked_at: null,
    });
    expect(JSON.stringify(token)).not.toContain(secret);
    expect(await call(secret, 'GET', '/api/me')).toEqual({
      status: 200,
      body: { name: 'ci deploys', role: 'operator', clusters: null, expires_at: null },
    });
    expect((await call(secret, 'POST', '/api/deployments/app-main/actions/ping', {})).status).toBe(202);

    const listed = await call(app.token, 'GET', '/api/tokens');
    expect(listed.status).toBe(200);
    expect(listed.body.tokens).toContainEqual(expect.objectContaining({ id: token.id, name: 'ci deploys' }));
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(JSON.stringify(listed.body)).not.toContain('hash');
    const dump = JSON.stringify(await app.server.database.dataSource.query('SELECT * FROM api_tokens'));
    expect(dump).not.toContain(secret);
  });

  it('limits a token to clusters named or by id, and says so on /api/me', async () => {
    const other = (await app.api('GET', '/api/clusters/other')).body.cluster;
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const { token, secret } = await mint({ name: 'other viewer', role: 'viewer', clusters: ['other'], expires_at: expires });
    expect(token.clusters).toEqual([{ id: other.id, name: 'other' }]);
    expect(token.expires_at).toBe(expires);
    expect((await call(secret, 'GET', '/api/me')).body).toEqual({
      name: 'other viewer',
      role: 'viewer',
      clusters: ['other'],
      expires_at: expires,
    });
    expect((await mint({ name: 'by id', role: 'viewer', clusters: [other.id] })).token.clusters).toEqual([{ id: other.id, name: 'other' }]);
  });

  it('refuses bad input with a 400 naming the field, and creates nothing', async () => {
    const before = await count();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', role: 'root' }, /role/],
      [{ role: 'viewer' }, /name/],
      [{ name: '', role: 'viewer' }, /name/],
      [{ name: 'x', role: 'viewer', clusters: ['nosuch'] }, /clusters\[0\].*nosuch/],
      [{ name: 'x', role: 'viewer', clusters: [] }, /clusters/],
      [{ name: 'x', role: 'viewer', expires_at: 'tomorrow' }, /expires_at/],
      [{ name: 'x', role: 'viewer', expires_at: '2001-01-01T00:00:00Z' }, /expires_at.*future/],
      [{ name: 'x', role: 'viewer', secret: 'mine' }, /secret/],
    ];
    for (const [body, field] of cases) {
      const answer = await call(app.token, 'POST', '/api/tokens', body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(`${answer.body.message} ${JSON.stringify(answer.body.details)}`).toMatch(field);
    }
    expect(await count()).toBe(before);
  });

  it('leaves token management to admins; every valid token may ask who it is', async () => {
    const { secret: operator } = await mint({ name: 'op', role: 'operator' });
    const { secret: viewer } = await mint({ name: 'viewer', role: 'viewer' });
    expect((await call(operator, 'POST', '/api/tokens', { name: 'x', role: 'viewer' })).status).toBe(403);
    expect((await call(viewer, 'GET', '/api/tokens')).status).toBe(403);
    expect((await call(operator, 'DELETE', `/api/tokens/00000000-0000-4000-8000-000000000000`)).status).toBe(403);
    expect((await call(viewer, 'GET', '/api/me')).body).toMatchObject({ name: 'viewer', role: 'viewer' });
    expect((await call('qr_nonsense', 'GET', '/api/me')).status).toBe(401);
  });

  it('lets a scoped admin mint, list and revoke only within its clusters', async () => {
    const { secret: admin } = await mint({ name: 'other admin', role: 'admin', clusters: ['other'] });
    const wider = await call(admin, 'POST', '/api/tokens', { name: 'everything', role: 'viewer' });
    expect(wider.status).toBe(403);
    expect(wider.body.message).toMatch(/wider/);
    // Another cluster reads like one that does not exist.
    const outside = await call(admin, 'POST', '/api/tokens', { name: 'main', role: 'viewer', clusters: ['main'] });
    const missing = await call(admin, 'POST', '/api/tokens', { name: 'main', role: 'viewer', clusters: ['nosuch'] });
    expect(outside.status).toBe(400);
    expect(JSON.stringify(outside.body).replace(/main/g, 'X')).toBe(JSON.stringify(missing.body).replace(/nosuch/g, 'X'));
    const { token: mine } = await mint({ name: 'other op', role: 'operator', clusters: ['other'] }, admin);

    const listed = (await call(admin, 'GET', '/api/tokens')).body.tokens as TokenView[];
    expect(listed.every((t) => t.clusters?.length && t.clusters.every((c) => c.name === 'other'))).toBe(true);
    expect(listed.map((t) => t.id)).toContain(mine.id);
    const unscoped = ((await call(app.token, 'GET', '/api/tokens')).body.tokens as TokenView[]).find((t) => t.clusters === null)!;
    expect((await call(admin, 'DELETE', `/api/tokens/${unscoped.id}`)).status).toBe(404);
    expect((await call(admin, 'DELETE', `/api/tokens/${mine.id}`)).status).toBe(204);
  });

  it('refuses a revoked token at once, and an expired one on REST, the handshake and an open connection', async () => {
    const { token, secret } = await mint({ name: 'short', role: 'viewer' });
    expect((await call(app.token, 'DELETE', `/api/tokens/${token.id}`)).status).toBe(204);
    expect((await call(secret, 'GET', '/api/me')).status).toBe(401);
    expect(((await call(app.token, 'GET', '/api/tokens')).body.tokens as TokenView[]).find((t) => t.id === token.id)?.revoked_at).toEqual(
      expect.any(String),
    );
    expect((await call(app.token, 'DELETE', `/api/tokens/${token.id}`)).status).toBe(204);
    expect((await call(app.token, 'DELETE', '/api/tokens/not-an-id')).status).toBe(404);

    const { token: expiring, secret: expiringSecret } = await mint({
      name: 'expiring',
      role: 'viewer',
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
    });
    const open = await connect(expiringSecret);
    let reason: string | undefined;
    open.on('disconnect', (r) => (reason = r));
    expect((await call(expiringSecret, 'GET', '/api/me')).status).toBe(200);
    // Its expiry passes (moved into the past rather than waited for).
    await app.server.database.dataSource.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expiring.id,
    ]);
    const expired = await call(expiringSecret, 'GET', '/api/me');
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/);
    await expect(connect(expiringSecret)).rejects.toThrow(/unauthorized/);
    await until('the open connection of the expired token to close', () => reason, 15_000);
    expect(reason).toBe('io server disconnect');
  }, 30_000);
});
