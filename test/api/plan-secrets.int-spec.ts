// A plan holds no secret values, so a field that reads secrets is not rendered with them missing:
// the example deploy's notify-chat `when` tests that a token is set, and a plan that rendered it
// said 'false' on a node where the job then ran the step.
import { startTestApp, type TestApp } from '../support/app.js';

describe('plan: fields that read secrets', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ engine: false });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
  });

  it('says they are rendered at run time instead of rendering them without the secrets', async () => {
    const { status, body } = await app.api('POST', '/api/books/plan', { deployment: 'shop-web', action: 'deploy', params: { release: '2.1.0' } });
    expect(status).toBe(200);
    const step = body.plan.steps.find((s: { name: string }) => s.name === 'notify-chat');
    expect(step.rendered.when).toBe("{{ne (default secrets.demo_token '') ''}}  (rendered at run time: reads secrets)");
    // fields without secrets are still rendered
    expect(step.rendered.run).toMatch(/shop-web runs 2\.1\.0$/);
  }, 30_000);
});
