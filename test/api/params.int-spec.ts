// Parameters through the real API (issue 8 item 9): a misspelt parameter is refused with a
// did-you-mean instead of deploying the default, unless the book's schema admits other names;
// an integer past 2^53 is refused instead of being stored rounded. Refusals store nothing.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../support/app.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/service-books');

// a book whose schema takes any other name on purpose
const OPEN_BOOK = `name: svc.tag
kind: svc
action: tag
unique: none
params:
  type: object
  properties: { label: { type: string } }
  additionalProperties: true
steps:
  - name: tag
    kind: shell
    run: "echo {{params.label}}"
`;

/** The service fixture books plus `extra`, in a temp directory of their own. */
function booksWith(extra: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'quire-books-'));
  cpSync(FIXTURES, dir, { recursive: true });
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(dir, file), text);
  return dir;
}

describe('action parameters through the API', () => {
  const booksDir = booksWith({ 'svc.tag.book.yaml': OPEN_BOOK });
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ booksDir, engine: false });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  const jobs = async () => ((await app.api('GET', '/api/jobs?limit=500')).body.jobs as unknown[]).length;
  const deploy = (body: unknown) => app.api('POST', '/api/deployments/app-1/actions/deploy', body);

  it('refuses each unknown parameter by name, with a did-you-mean, and stores nothing', async () => {
    const before = await jobs();
    const { status, body } = await deploy({ params: { version: '1.0', replcias: 3, colour: 'red' } });
    expect(status).toBe(400);
    expect(body.details.map((d: { field: string; message: string }) => [d.field, d.message])).toEqual([
      ['params.replcias', "params.replcias: unknown parameter (did you mean 'replicas'?)"],
      ['params.colour', 'params.colour: unknown parameter (this action takes version, replicas)'],
    ]);
    expect(body.message).toContain("did you mean 'replicas'?");
    // the dry run refuses the same way
    const plan = await app.api('POST', '/api/books/plan', { deployment: 'app-1', action: 'deploy', params: { version: '1.0', replcias: 3 } });
    expect(plan.status).toBe(400);
    expect(plan.body.details.map((d: { field: string }) => d.field)).toEqual(['params.replcias']);
    expect(await jobs()).toBe(before);
  });

  it('takes other names where the book’s schema sets additionalProperties', async () => {
    const { status, body } = await app.api('POST', '/api/deployments/app-1/actions/tag', { params: { label: 'x', note: 'kept' } });
    expect(status).toBe(202);
    expect(body.job.params).toEqual({ label: 'x', note: 'kept' });
  });

  it('refuses integers past 2^53 as sent in the raw body, instead of rounding them', async () => {
    const before = await jobs();
    // sent as text: 9007199254740993 has no double; JSON.parse would make it ...992
    const { status, body } = await deploy('{"params":{"version":"1.0","replicas":9007199254740993}}');
    expect(status).toBe(400);
    expect(body.details).toEqual([
      expect.objectContaining({ field: 'params.replicas', message: expect.stringContaining('integer beyond ±9007199254740991 (2^53 - 1)') }),
    ]);
    const open = await app.api('POST', '/api/deployments/app-1/actions/tag', '{"params":{"label":"x","big":{"n":[1,-123456789012345678901]}}}');
    expect(open.status).toBe(400);
    expect(open.body.details.map((d: { field: string }) => d.field)).toEqual(['params.big.n.1']);
    expect(await jobs()).toBe(before);
    // the largest safe integer is taken as it is
    const safe = await deploy('{"params":{"version":"1.0","replicas":9007199254740991}}');
    expect(safe.status).toBe(202);
    expect(safe.body.job.params.replicas).toBe(9007199254740991);
  });
});
