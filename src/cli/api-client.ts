// The CLI talks to a running Quire over its REST API, as any API client would: the same
// authorisation, and no second process opening the embedded database.
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
    const baseUrl = env.QUIRE_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`;
    let token = env.QUIRE_TOKEN;
    const file = join(resolve(env.QUIRE_DATA_DIR ?? '.quire'), 'admin-token');
    if (!token && existsSync(file)) token = readFileSync(file, 'utf8').trim();
    if (!token) throw new Error(`no token: set QUIRE_TOKEN, or run where ${file} exists`);
    return new ApiClient(baseUrl.replace(/\/$/, ''), token);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const send = () =>
      fetch(this.baseUrl + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response: Response;
    try {
      try {
        response = await send();
      } catch (error) {
        // A kept-alive connection the server closed just as it was reused (its idle timeout; a
        // `follow` reads the job again after seconds of events only): a GET simply goes again.
        if (method !== 'GET' || !isConnectionReset(error)) throw error;
        response = await send();
      }
    } catch (error) {
      throw new Error(`cannot reach Quire at ${this.baseUrl} (${(error as Error).cause ?? (error as Error).message}); start it with 'quire serve' or set QUIRE_URL`, {
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

function isConnectionReset(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'EPIPE';
}
