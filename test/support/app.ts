// Boots the real service in-process on a free port, on a database of its own.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type QuireConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { fetchRetryingWhenSafe } from '../../src/cli/http-retry.js';

export interface TestApp {
  server: RunningServer;
  url: string;
  token: string;
  dataDir: string;
  config: QuireConfig;
  database?: TestDatabase;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startTestApp(
  options: { booksDir?: string; embedded?: boolean; engine?: boolean; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const database = options.embedded ? undefined : await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'quire-test-'));
  const config = loadConfig({
    PORT: '0',
    QUIRE_DATA_DIR: dataDir,
    QUIRE_BOOKS_DIR: options.booksDir ?? 'books',
    QUIRE_LOG_LEVEL: 'error',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  const stdoutWrite = process.stdout.write;
  // The first admin token is printed on stdout; keep test output clean.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let server: RunningServer;
  try {
    server = await startServer(config, { engine: options.engine ?? true });
  } finally {
    process.stdout.write = stdoutWrite;
  }
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    callAs(server.url, token, method, path, body, headers);
  return {
    server,
    url: server.url,
    token,
    dataDir,
    config,
    database,
    api,
    async close() {
      await server.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One REST call as the given token (another role or scope than the app's admin token). */
export async function callAs<T = any>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const response = await fetchRetryingWhenSafe(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
