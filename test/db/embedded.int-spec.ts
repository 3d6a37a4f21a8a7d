// The embedded default database (issue 12, issue 8 item 6): a real PostgreSQL under the data
// directory that starts, restarts with its data, refuses logins without its password, carries
// NOTIFY between connections, and is shared by the nodes that use one data directory.
import { mkdirSync, mkdtempSync, rmSync, statSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { jest } from '@jest/globals';
import { runningServer, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { until } from '../support/processes.js';

jest.setTimeout(240_000);

async function query<T = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function loginError(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('the embedded PostgreSQL', () => {
  let dataDir: string;
  const servers: EmbeddedPostgres[] = [];
  const start = async () => {
    const server = await startEmbeddedPostgres(dataDir);
    servers.push(server);
    return server;
  };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'quire-embedded-'));
  });

  afterAll(async () => {
    for (const server of servers) await server.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, keeps a random password in a file only its owner reads, and listens on 127.0.0.1', async () => {
    const server = await start();
    expect(server.started).toBe(true);
    const url = new URL(server.url);
    expect(url.hostname).toBe('127.0.0.1');
    const passwordFile = join(dataDir, 'postgres', 'quire-password');
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(decodeURIComponent(url.password)).toBe(readFileSync(passwordFile, 'utf8').trim());
    expect(url.password.length).toBeGreaterThanOrEqual(32);
    const [row] = await query(
      server.url,
      `SELECT current_database() AS db, current_setting('listen_addresses') AS listen, current_setting('password_encryption') AS enc`,
    );
    expect(row).toEqual({ db: 'quire', listen: '127.0.0.1', enc: 'scram-sha-256' });
  });

  it('refuses a TCP login without the password, or with a wrong one', async () => {
    const server = servers[0]!;
    const url = new URL(server.url);
    const without = new URL(url);
    without.password = '';
    expect(await loginError(without.toString())).toMatch(/password/i);
    const wrong = new URL(url);
    wrong.password = 'postgres';
    expect(await loginError(wrong.toString())).toMatch(/password authentication failed/);
    // Every other role name too: pg_hba asks every TCP login for a SCRAM password.
    const other = new URL(without);
    other.username = 'quire';
    expect(await loginError(other.toString())).not.toBeNull();
    expect(await loginError(server.url)).toBeNull();
  });

  it('carries NOTIFY from one connection to a LISTENing one', async () => {
    const server = servers[0]!;
    const listener = new pg.Client({ connectionString: server.url });
    await listener.connect();
    const received: string[] = [];
    listener.on('notification', (msg) => received.push(msg.payload ?? ''));
    await listener.query('LISTEN quire_test');
    try {
      const sender = new pg.Client({ connectionString: server.url });
      await sender.connect();
      for (let i = 0; i < 20; i++) await sender.query('SELECT pg_notify($1, $2)', ['quire_test', String(i)]);
      await sender.end();
      await until('20 notifications', () => received.length === 20, 30_000);
      expect(received).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    } finally {
      await listener.end();
    }
  });

  it('is shared by a second node on the same data directory, and stopped by the last one', async () => {
    const first = servers[0]!;
    const second = await start();
    expect(second.started).toBe(false);
    expect(second.url).toBe(first.url);
    const pid = runningServer(join(dataDir, 'postgres'))!.pid;
    await first.stop();
    servers.shift();
    // the first node left; the second still uses the server
    expect(runningServer(join(dataDir, 'postgres'))?.pid).toBe(pid);
    expect(await query(second.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await query(second.url, 'CREATE TABLE kept (v text)');
    await query(second.url, `INSERT INTO kept VALUES ('across a restart')`);
    await second.stop();
    servers.shift();
    expect(runningServer(join(dataDir, 'postgres'))).toBeUndefined();
  });

  it('restarts on its data directory with its data and password', async () => {
    const password = readFileSync(join(dataDir, 'postgres', 'quire-password'), 'utf8');
    const server = await start();
    expect(server.started).toBe(true);
    expect(await query(server.url, 'SELECT v FROM kept')).toEqual([{ v: 'across a restart' }]);
    expect(readFileSync(join(dataDir, 'postgres', 'quire-password'), 'utf8')).toBe(password);
  });

  it('refuses a data directory left by PGlite, saying how to move it aside', async () => {
    const old = mkdtempSync(join(tmpdir(), 'quire-embedded-pglite-'));
    try {
      mkdirSync(join(old, 'pgdata'), { recursive: true });
      await expect(startEmbeddedPostgres(old)).rejects.toThrow(/PGlite.*mv .*pgdata .*pgdata\.pglite-old/s);
      expect(existsSync(join(old, 'postgres'))).toBe(false);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });
});
