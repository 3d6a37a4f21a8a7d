// Hostile input answers 400 naming the field, never 500 (issue 8 item 7): a NUL byte in a path,
// a query or a body (PostgreSQL refuses it in text and jsonb), and JSON nested 5,000 levels deep.
// Nothing is stored, and no log line carries the input or a query's parameters.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { inventory } from '../support/processes.js';

const ECHO_BOOK = `name: web.echo
kind: web
action: echo
unique: none
params:
  type: object
  properties:
    msg: { type: string }
    nested: { type: object }
steps:
  - { name: echo, kind: shell, run: "true" }
`;

/** {"a":{"a":...{}}} nested `depth` levels, as text: JSON.stringify would recurse that deep. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;

describe('bad input', () => {
  let app: TestApp;
  let booksDir: string;
  let db: pg.Pool;
  const logged: string[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-bad-input-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), inventory('web', 1, { secret_looking: 'do-not-log-me' }));
    writeFileSync(join(booksDir, 'web.echo.book.yaml'), ECHO_BOOK);
    app = await startTestApp({ booksDir, engine: false, env: { QUIRE_LOG_LEVEL: 'debug' } });
    db = new pg.Pool({ connectionString: app.database!.url, max: 1 });
    // Everything the server logs from here on (Nest's logger and TypeORM's write to these).
    const capture = (original: typeof process.stdout.write) =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logged.push(String(chunk));
        return (original as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
      }) as typeof process.stdout.write;
    process.stdout.write = capture(writes.out);
    process.stderr.write = capture(writes.err);
  }, 60_000);

  afterAll(async () => {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    await db?.end();
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  const jobs = async () => Number((await db.query('SELECT count(*) FROM jobs')).rows[0].count);

  it.each([
    ['a path', 'GET', '/api/deployments/%00', undefined, 'path.ref'],
    ['a path, inside a name', 'GET', '/api/jobs/j%001', undefined, 'path.id'],
    ['a query', 'GET', '/api/jobs?deployment=%00', undefined, 'query.deployment'],
    ['a body', 'POST', '/api/deployments/d1/actions/echo', { params: { msg: 'a\u0000b' } }, 'params.msg'],
    ['a body key', 'POST', '/api/deployments/d1/actions/echo', { params: { nested: { 'k\u0000': 1 } } }, 'params.nested'],
  ])('a NUL byte in %s: 400 naming it', async (_what, method, path, body, field) => {
    const before = await jobs();
    const answer = await app.api(method, path, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_input');
    expect(answer.body.details).toEqual([expect.objectContaining({ field })]);
    expect(answer.body.message).toContain(field);
    expect(answer.body.message).toMatch(/NUL/);
    expect(await jobs()).toBe(before);
  });

  it('JSON nested 5,000 levels deep: 400 naming where, for params and for any body', async () => {
    const before = await jobs();
    for (const [path, body, field] of [
      ['/api/deployments/d1/actions/echo', `{"params":{"nested":${nested(5000)}}}`, 'params.nested.a.a.a'],
      ['/api/books/plan', `{"deployment":"d1","action":"echo","params":${nested(5000)}}`, 'params.a.a.a'],
      ['/api/deployments', nested(5000), 'a.a.a.a'],
    ] as const) {
      const answer = await app.api('POST', path, body);
      expect({ path, status: answer.status, error: answer.body.error }).toEqual({ path, status: 400, error: 'invalid_input' });
      expect(answer.body.details).toEqual([expect.objectContaining({ field: expect.stringMatching(new RegExp(`^${field.replaceAll('.', '\\.')}`)) })]);
      expect(answer.body.message).toMatch(/nested more than \d+ levels/);
    }
    expect(await jobs()).toBe(before);
    // Reasonable nesting still goes through.
    expect((await app.api('POST', '/api/deployments/d1/actions/echo', `{"params":{"nested":${nested(20)}}}`)).status).toBe(202);
  });

  it('logs neither the input nor any query\'s parameters', async () => {
    await app.api('POST', '/api/deployments/d1/actions/echo', { params: { msg: 'a\u0000b-secret-param' } });
    // A query that fails in PostgreSQL, with parameters: TypeORM logs failed queries.
    await app.server.database.dataSource.query('SELECT $1::int', ['not-a-number-do-not-log-me']).catch(() => undefined);
    const text = logged.join('');
    expect(text).toMatch(/query failed|invalid input syntax/i);
    expect(text).not.toContain('do-not-log-me');
    expect(text).not.toContain('secret-param');
    expect(text).not.toMatch(/PARAMETERS/);
  });
});
