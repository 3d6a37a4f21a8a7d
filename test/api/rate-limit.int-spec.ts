// Issue 8 item 2: the CPU-heavy calls (validate, plan) are rate limited per token with a 429
// that says when to come back; other tokens and other routes are not affected.
import { callAs, startTestApp, type TestApp } from '../support/app.js';

const BOOK = 'name: demo.ping\nkind: demo\naction: ping\nsteps:\n  - name: one\n    kind: wait\n    duration: 1s\n';

describe('rate limit on validate and plan', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ engine: false, env: { QUIRE_RATE_LIMIT_PER_MINUTE: '3' } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  const validate = (token: string) =>
    fetch(`${app.url}/api/books/validate`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/yaml' }, body: BOOK });

  it('answers 429 with Retry-After past the limit, per token, and leaves other routes alone', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await validate(app.token)).status);
    expect(statuses).toEqual([200, 200, 200]);

    const refused = await validate(app.token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe('too_many_requests');
    expect(body.message).toMatch(/at most 3 validations and plans a minute per token/);

    // plan counts against the same budget
    const plan = await callAs(app.url, app.token, 'POST', '/api/books/plan', { deployment: 'shop-web', action: 'deploy', params: {} });
    expect(plan.status).toBe(429);
    // other routes are not limited
    expect((await callAs(app.url, app.token, 'GET', '/api/books')).status).toBe(200);

    // another token has its own budget
    const minted = await callAs<{ secret: string }>(app.url, app.token, 'POST', '/api/tokens', { name: 'viewer', role: 'viewer' });
    expect(minted.status).toBe(201);
    expect((await validate(minted.body.secret)).status).toBe(200);
  }, 60_000);
});
