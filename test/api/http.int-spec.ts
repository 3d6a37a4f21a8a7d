// The HTTP server's connection handling (issue 11): an idle keep-alive connection outlives every
// common client pool's and load balancer's idle time (65 s), so that the server never closes a
// socket a client is about to send on ("other side closed"); headersTimeout sits above it; both
// and the body limit are configurable and a body past the limit gets a 413 naming it.
import { connect, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { startTestApp, type TestApp } from '../support/app.js';
import { sleep } from '../support/processes.js';

/** A raw keep-alive connection: sends requests, reads each full answer (Content-Length bodies). */
class RawConnection {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  async get(path: string): Promise<{ status: number; headers: Record<string, string> }> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: quire\r\nConnection: keep-alive\r\n\r\n`);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = this.buffer.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length'] ?? 0);
        if (this.buffer.length >= end + 4 + length) {
          this.buffer = this.buffer.slice(end + 4 + length);
          return { status: Number(statusLine!.split(' ')[1]), headers };
        }
      }
      if (this.closed) throw new Error(`the server closed the connection (${this.buffer.length} bytes unread)`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('HTTP connections', () => {
  let app: TestApp;
  let small: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ engine: false });
    small = await startTestApp({
      engine: false,
      env: { QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '2', QUIRE_HTTP_HEADERS_TIMEOUT_SECONDS: '30', QUIRE_HTTP_BODY_LIMIT_BYTES: '4096' },
    });
  });

  afterAll(async () => {
    await app?.close();
    await small?.close();
  });

  const httpServer = (a: TestApp) => a.server.app.getHttpServer() as Server;

  it('keeps an idle keep-alive connection open past Node\'s 5 s default, and says for how long', async () => {
    const connection = await RawConnection.open(app.url);
    try {
      const first = await connection.get('/health');
      expect(first.status).toBe(200);
      expect(first.headers['keep-alive']).toBe('timeout=65');
      // Node's default (5 s) closed it here, while a pooling client could be sending on it.
      await sleep(6_500);
      expect((await connection.get('/health')).status).toBe(200);
    } finally {
      connection.close();
    }
    expect({ keepAlive: httpServer(app).keepAliveTimeout, headers: httpServer(app).headersTimeout }).toEqual({ keepAlive: 65_000, headers: 66_000 });
  }, 30_000);

  it('takes its timeouts and body limit from the environment', async () => {
    expect({ keepAlive: httpServer(small).keepAliveTimeout, headers: httpServer(small).headersTimeout }).toEqual({ keepAlive: 2_000, headers: 30_000 });
    const connection = await RawConnection.open(small.url);
    try {
      expect((await connection.get('/health')).headers['keep-alive']).toBe('timeout=2');
    } finally {
      connection.close();
    }
    const big = await small.api('POST', '/api/books/validate', { yaml: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.body.message).toMatch(/request body too large: over 4096 bytes \(QUIRE_HTTP_BODY_LIMIT_BYTES\)/);
    // under the limit: through to the validator
    expect((await small.api('POST', '/api/books/validate', 'name: x\n', { 'content-type': 'application/yaml' })).status).not.toBe(413);
  });
});
