// A real server on 127.0.0.1 and the real fetch: classification depends on what undici does.
import { closedPort, startServer, type TestServer } from '../testing/http-server.fixture.js';
import { testRun } from '../testing/step-run.fixture.js';
import { HttpStepExecutor, MAX_TEXT_BODY } from './http.step.js';

const http = new HttpStepExecutor();
let server: TestServer;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const path = req.url.split('?')[0];
    switch (path) {
      case '/json':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: '1.2.3', ok: true }));
        break;
      case '/echo':
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, body: req.body }));
        break;
      case '/text':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('plain text');
        break;
      case '/big':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('b'.repeat(MAX_TEXT_BODY * 3));
        break;
      case '/missing':
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not   Found</h1>\n');
        break;
      case '/busy':
        res.writeHead(503, { 'retry-after': '17' }).end('maintenance');
        break;
      case '/limited':
        res.writeHead(429, { 'retry-after': '5' }).end();
        break;
      case '/crash':
        res.writeHead(500).end('boom');
        break;
      case '/slow':
        {
          const timer = setTimeout(() => res.writeHead(200).end('late'), 5000);
          res.on('close', () => clearTimeout(timer));
        }
        break;
      default:
        res.writeHead(400).end();
    }
  });
});
afterAll(() => server.close());

describe('http step', () => {
  it('is done on 2xx, with the status and the parsed JSON body as outputs', async () => {
    const run = testRun({ kind: 'http', url: `${server.url}/json` });
    expect(await http.execute(run)).toEqual({ outcome: 'done', outputs: { status: 200, body: { version: '1.2.3', ok: true } } });
    expect(run.text()).toBe(`GET ${server.url}/json → 200\n`);
  });

  it('sends an object body as JSON, a string body as is', async () => {
    const run = testRun({ kind: 'http', method: 'post', url: `${server.url}/echo`, body: { name: 'db', replicas: 3 } });
    expect(await http.execute(run)).toEqual({
      outcome: 'done',
      outputs: { status: 201, body: { method: 'POST', type: 'application/json', body: '{"name":"db","replicas":3}' } },
    });
    const raw = testRun({
      kind: 'http',
      method: 'PUT',
      url: `${server.url}/echo`,
      body: 'a=1&b=2',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(await http.execute(raw)).toMatchObject({
      outputs: { body: { method: 'PUT', type: 'application/x-www-form-urlencoded', body: 'a=1&b=2' } },
    });
  });

  it('sends headers but never prints them', async () => {
    const run = testRun({ kind: 'http', url: `${server.url}/text`, headers: { Authorization: 'Bearer top-secret-token' } });
    expect(await http.execute(run)).toEqual({ outcome: 'done', outputs: { status: 200, body: 'plain text' } });
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer top-secret-token');
    expect(run.text()).not.toContain('top-secret');
  });

  it('truncates a large non-JSON body to 64 KiB', async () => {
    const result = await http.execute(testRun({ kind: 'http', url: `${server.url}/big` }));
    expect(result.outcome === 'done' && (result.outputs.body as string).length).toBe(MAX_TEXT_BODY);
  });

  it('fails on an unexpected 4xx with the status and a body excerpt', async () => {
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/missing` }))).toEqual({
      outcome: 'failed',
      message: 'HTTP 404: <h1>Not Found</h1>',
      status: 404,
    });
  });

  it('accepts the statuses in expect_status, and only those', async () => {
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/missing`, expect_status: [200, 404] }))).toMatchObject({
      outcome: 'done',
      outputs: { status: 404 },
    });
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/json`, expect_status: 204 }))).toMatchObject({
      outcome: 'failed',
      status: 200,
    });
  });

  it('retries 503 and 429 honouring Retry-After, and 500 without it', async () => {
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/busy` }))).toEqual({
      outcome: 'retry',
      message: 'HTTP 503: maintenance',
      status: 503,
      delaySeconds: 17,
    });
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/limited` }))).toEqual({
      outcome: 'retry',
      message: 'HTTP 429',
      status: 429,
      delaySeconds: 5,
    });
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/crash` }))).toEqual({
      outcome: 'retry',
      message: 'HTTP 500: boom',
      status: 500,
    });
  });

  it('retries a refused connection', async () => {
    const run = testRun({ kind: 'http', url: `http://127.0.0.1:${await closedPort()}/x` });
    expect(await http.execute(run)).toEqual({ outcome: 'retry', message: 'connection error: ECONNREFUSED' });
    expect(run.text()).toContain('connection error: ECONNREFUSED');
  });

  it('fails a request that can never work instead of retrying it', async () => {
    expect(await http.execute(testRun({ kind: 'http', url: 'not a url' }))).toEqual({
      outcome: 'failed',
      message: "invalid URL 'not a url'",
    });
    expect(await http.execute(testRun({ kind: 'http', url: 'ftp://example.com/' }))).toMatchObject({
      outcome: 'failed',
      message: expect.stringContaining("'ftp:'"),
    });
    expect(await http.execute(testRun({ kind: 'http', url: `${server.url}/json`, body: { a: 1 } }))).toEqual({
      outcome: 'failed',
      message: 'a GET request cannot have a body',
    });
    const badHeader = await http.execute(testRun({ kind: 'http', url: `${server.url}/json`, headers: { 'X-Token': 'secret\nvalue' } }));
    expect(badHeader).toEqual({ outcome: 'failed', message: "invalid header 'X-Token'" });
  });

  it('sends URL credentials as Basic auth and hides them in the printed line', async () => {
    const run = testRun({ kind: 'http', url: server.url.replace('http://', 'http://user:pa55%40word@') + '/text' });
    expect(await http.execute(run)).toMatchObject({ outcome: 'done' });
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('user:pa55@word').toString('base64')}`);
    expect(run.text()).toBe(`GET ${server.url}/text → 200\n`);
  });

  it('is aborted, with the reason, when the signal fires mid-request', async () => {
    const run = testRun({ kind: 'http', url: `${server.url}/slow` });
    setTimeout(() => run.abort('timeout'), 100);
    const started = Date.now();
    expect(await http.execute(run)).toEqual({ outcome: 'aborted', reason: 'timeout', message: 'timed out' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
