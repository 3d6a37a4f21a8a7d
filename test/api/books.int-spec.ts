// The books API: list, read, validate YAML without storing it, reload from disk.
import { startTestApp, type TestApp } from '../support/app.js';

describe('books API', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ booksDir: 'test/fixtures/service-books', engine: false });
  });
  afterAll(async () => app?.close());

  it('lists the current books with their params and steps, and reads one with its versions', async () => {
    const { body } = await app.api('GET', '/api/books');
    expect(body.books.map((b: any) => b.name)).toEqual(['g.report', 'svc.check', 'svc.deploy']);
    const deploy = body.books.find((b: any) => b.name === 'svc.deploy');
    expect(deploy.params.required).toEqual(['version']);
    expect(deploy.steps.map((s: any) => s.name)).toEqual(['prepare', 'probe', 'finish']);
    const one = (await app.api('GET', '/api/books/svc.deploy')).body.book;
    expect(one.source).toContain('name: svc.deploy');
    expect(one.versions).toHaveLength(1);
    expect((await app.api('GET', '/api/books/nope')).status).toBe(404);
  });

  it('validates YAML sent as text, answering every problem with line and column', async () => {
    const yaml = 'name: x\nkind: k\naction: a\npriority: 7\ncolour: red\nsteps:\n  - name: s\n    kind: shell\n    run: "echo \'{{params.v}}\'"\n';
    const response = await fetch(`${app.url}/api/books/validate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.token}`, 'content-type': 'text/yaml' },
      body: yaml,
    });
    const body: any = await response.json();
    expect(response.status).toBe(200);
    expect(body.valid).toBe(false);
    expect(body.problems.map((p: any) => [p.line, p.field])).toEqual(expect.arrayContaining([[4, 'priority'], [5, 'colour']]));
    expect(body.messages.some((m: string) => /^book\.yaml:9:\d+: .*quot/i.test(m))).toBe(true);
    const ok = await app.api('POST', '/api/books/validate', { source: 'name: y\nkind: k\naction: b\nsteps:\n  - { name: s, kind: shell, run: "true" }\n', file: 'y.book.yaml' });
    expect(ok.body).toMatchObject({ valid: true, problems: [], book: { name: 'y' } });
    expect((await app.api('GET', '/api/books')).body.books).toHaveLength(3);
  });
});
