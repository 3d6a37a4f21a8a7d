// The CLI talks to a running Quire over its REST API, as any API client would: the same
// authorisation and the same checks as every other client.
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fetchRetryingWhenSafe } from './http-retry.js';

/** No server answered at the URL (as opposed to one that answered with an error). */
export class ApiUnreachable extends Error {}

/** Where the CLI looks for a server: QUIRE_URL, or this machine's PORT. */
export function apiUrlFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return (env.QUIRE_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/$/, '');
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ApiClient {
    const baseUrl = apiUrlFromEnv(env);
    let token = env.QUIRE_TOKEN;
    const file = join(resolve(env.QUIRE_DATA_DIR ?? '.quire'), 'admin-token');
    if (!token && existsSync(file)) token = readFileSync(file, 'utf8').trim();
    if (!token) throw new Error(`no token: set QUIRE_TOKEN, or run where ${file} exists`);
    return new ApiClient(baseUrl, token);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    let response: Response;
    try {
      response = await fetchRetryingWhenSafe(this.baseUrl + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiUnreachable(`cannot reach Quire at ${this.baseUrl} (${(error as Error).cause ?? (error as Error).message}); start it with 'quire serve' or set QUIRE_URL`, {
        cause: error,
      });
    }
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as T) : (undefined as T);
    return { status: response.status, body: parsed };
  }

  /** Like call(), but a 4xx/5xx becomes an Error carrying the API's message and details. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const result = await this.call<T & { message?: string; details?: { message: string }[] }>(method, path, body, headers);
    if (result.status >= 400) {
      const details = (result.body?.details ?? []).map((d) => `  - ${d.message}`).join('\n');
      throw new Error(`${result.body?.message ?? `HTTP ${result.status}`}${details ? `\n${details}` : ''}`);
    }
    return result.body;
  }
}
