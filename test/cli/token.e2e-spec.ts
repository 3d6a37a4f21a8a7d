// `quire token create|list|revoke` as an operator runs it: the built CLI (bin/quire.js, no
// ts-node), through the API when a server runs (so it works beside an embedded-database server,
// and with the caller's authority), and straight to the database when none does.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';
import { mainAndOtherInventory, PING_BOOK } from '../support/books.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking the event loop: the in-process server must answer it. */
const quire = (env: Record<string, string>, ...args: string[]) =>
  new Promise<Run>((resolve) => {
    const child = spawn('node', ['bin/quire.js', 'token', ...args], { env: { PATH: process.env.PATH!, QUIRE_LOG_LEVEL: 'error', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

describe('quire token', () => {
  let app: TestApp;
  let booksDir: string;
  let emptyDir: string;
  /** a database no CLI call may open: the API path must not touch the database */
  const NO_DATABASE = 'postgres://nobody@127.0.0.1:1/none';
  let viaApi: Record<string, string>;

  const me = async (secret: string) => {
    const response = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${secret}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-cli-token-'));
    emptyDir = mkdtempSync(join(tmpdir(), 'quire-cli-empty-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), mainAndOtherInventory());
    writeFileSync(join(booksDir, 'web.ping.book.yaml'), PING_BOOK);
    app = await startTestApp({ booksDir, engine: false });
    // The admin token from .quire/admin-token, as an operator beside the server has it.
    viaApi = { QUIRE_URL: app.url, QUIRE_DATA_DIR: app.dataDir, DATABASE_URL: NO_DATABASE };
  });

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('creates, lists and revokes tokens through the API of a running server', async () => {
    const created = await quire(viaApi, 'create', '--role', 'operator', '--name', 'deploy bot', '--cluster', 'other', '--expires', '30d');
    expect(created.stderr).toMatch(
      /created operator token 'deploy bot' \(qr_.{5}…\) for other, expires 20\d\d-.* \(through the API at http/,
    );
    expect(created.status).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^qr_[\w-]{40,}$/);
    const who = await me(secret);
    expect(who.body).toMatchObject({ name: 'deploy bot', role: 'operator', clusters: ['other'] });
    const expires = new Date(who.body.expires_at as string).getTime();
    expect(Math.abs(expires - (Date.now() + 30 * 86_400_000))).toBeLessThan(3600_000);

    const listed = await quire(viaApi, 'list');
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID +NAME +ROLE +CLUSTERS +EXPIRES +STATE/);
    const row = listed.stdout.split('\n').find((l) => l.includes('deploy bot'))!;
    expect(row).toMatch(/operator +other +20\d\d-\S+ +active/);
    expect(listed.stdout).not.toContain(secret);
    const json = JSON.parse((await quire(viaApi, 'list', '--json')).stdout) as { id: string; name: string }[];
    const id = json.find((t) => t.name === 'deploy bot')!.id;

    const revoked = await quire(viaApi, 'revoke', id);
    expect(revoked).toMatchObject({ status: 0, stderr: expect.stringContaining(`revoked token 'deploy bot'`) });
    expect((await me(secret)).status).toBe(401);
    expect((await quire(viaApi, 'list')).stdout.split('\n').find((l) => l.includes('deploy bot'))).toMatch(/revoked/);
  }, 60_000);

  it('reports the API refusal and exits 1: bad input, a token without the role', async () => {
    const bad = await quire(viaApi, 'create', '--role', 'root');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/role/);
    expect(bad.stdout).toBe('');
    const viewer = (await quire(viaApi, 'create', '--role', 'viewer')).stdout.trim();
    const refused = await quire({ ...viaApi, QUIRE_TOKEN: viewer }, 'list');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/needs the 'admin' role/);
    expect((await quire(viaApi, 'revoke', '00000000-0000-4000-8000-000000000000')).stderr).toMatch(/token '0{8}-.*' not found/);
  }, 60_000);

  it('writes the database directly when no server runs', async () => {
    // No QUIRE_URL, nothing listening on PORT, no admin-token file: the database is the way.
    const direct = { PORT: '1', QUIRE_DATA_DIR: emptyDir, DATABASE_URL: app.database!.url };
    const created = await quire(direct, 'create', '--role', 'viewer', '--name', 'offline');
    expect(created.stderr).toMatch(/created viewer token 'offline' .*\(in the database: no server answered\)/);
    expect(created.status).toBe(0);
    expect((await me(created.stdout.trim())).body).toMatchObject({ name: 'offline', role: 'viewer', clusters: null });
    const listed = await quire(direct, 'list', '--json');
    const offline = (JSON.parse(listed.stdout) as { id: string; name: string }[]).find((t) => t.name === 'offline')!;
    expect((await quire(direct, 'revoke', offline.id)).status).toBe(0);
    expect((await me(created.stdout.trim())).status).toBe(401);
  }, 60_000);
});
