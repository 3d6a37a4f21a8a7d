// The portal in a real browser (Debian's chromium through playwright-core): sign in, trigger a
// deploy from the form generated from the book's params, watch the progress bar and the output
// move without a reload, cancel a long job, filter the jobs list, a read-only token, the polling
// fallback without socket.io, and a phone-sized screen. Screenshots go to
// test-output/screenshots/ (kept by CI as artifacts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { TokensService } from '../../src/auth/tokens.service.js';
import { EventsGateway } from '../../src/events/events.gateway.js';

// Callbacks passed to page.evaluate/waitForFunction run in the browser; the project compiles
// without the DOM library, so these names are declared loosely for this file only.
declare const document: any;
declare const window: any;
declare const sessionStorage: any;

const CHROMIUM = process.env.QUIRE_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const INVENTORY = `clusters:
  - name: eu-west
    vars: { region: eu-west-1 }
    groups:
      - name: shop
        deployments:
          - { name: shop-web, kind: web }
          - { name: shop-api, kind: web }
      - name: blog
        deployments:
          - { name: blog-web, kind: web }
  - name: us-east
    groups:
      - name: edge
        deployments:
          - { name: edge-proxy, kind: web }
`;

const DEPLOY_BOOK = `name: web.deploy
description: Roll out a release of a web app (a few seconds)
kind: web
action: deploy
allowed_from: [draft, deployed]
sets_state: deployed
should_notify: true
params:
  type: object
  required: [release]
  properties:
    release: { type: string, pattern: "^[0-9]+\\\\.[0-9]+\\\\.[0-9]+$", default: "1.0.0", description: "Release to install" }
    replicas: { type: integer, minimum: 1, maximum: 5, default: 2 }
    strategy: { type: string, enum: [rolling, blue-green], default: rolling }
    dry_run: { type: boolean, default: false, description: "Only print what would happen" }
defaults:
  estimated_duration: 2
steps:
  - name: prepare
    kind: shell
    description: Unpack the release
    run: "echo preparing release {{params.release}}; sleep 1"
  - name: install
    kind: shell
    description: Install it part by part
    run: "for i in 1 2 3; do echo installing part $i of {{params.release}}; sleep 1; done"
    estimated_duration: 3
  - name: switch
    kind: shell
    run: "echo switching {{params.replicas}} replicas with {{params.strategy}}; sleep 1"
  - name: verify
    kind: shell
    run: "echo verified; sleep 1"
`;

const SOAK_BOOK = `name: web.soak
description: A long soak test printing a tick every second
kind: web
action: soak
steps:
  - name: warm-up
    kind: shell
    run: "echo warming up; sleep 1"
    estimated_duration: 1
  - name: soak
    kind: shell
    run: "for i in $(seq 1 30); do echo tick $i; sleep 1; done"
    estimated_duration: 30
`;

const CHECK_BOOK = `name: web.check
description: A health check that fails, retried once
kind: web
action: check
steps:
  - name: probe
    kind: shell
    run: "echo '<b>probing</b>'; echo connection refused >&2; exit 75"
    retry: { max_attempts: 2, delay: 1s, retry_on_exit_codes: [75] }
`;

const RELEASE_BOOK = `name: web.release
description: A release that needs a person's approval
kind: web
action: release
params:
  type: object
  properties:
    channel: { type: string, default: stable }
steps:
  - name: build
    kind: shell
    run: "echo built"
    estimated_duration: 1
  - name: approve
    kind: manual
    instructions: "Check {{deployment.name}} in staging, then acknowledge."
    estimated_duration: 5m
  - name: publish
    kind: shell
    run: "echo published"
    estimated_duration: 1
`;

// Issue 10: outcomes, links between jobs, a group book, a destructive book, an overrunning step.
const MIXED_BOOK = `name: web.mixed
description: One of each outcome
kind: web
action: mixed
params:
  type: object
  properties:
    run_optional: { type: boolean, default: false }
steps:
  - { name: first, kind: shell, run: "echo one; echo ::output version=1.2.3", estimated_duration: 1 }
  - { name: flaky, kind: shell, run: "echo flaky >&2; exit 3", on_failure: ignore, estimated_duration: 1 }
  - { name: optional, kind: shell, run: "echo optional", when: "{{params.run_optional}}" }
  - { name: breaks, kind: shell, run: "echo breaking; exit 4", estimated_duration: 1 }
  - { name: never, kind: shell, run: "echo never" }
`;

const PARENT_BOOK = `name: web.parent
kind: web
action: parent
steps:
  - { name: call, kind: trigger, action: child, wait: true, estimated_duration: 2 }
on_success:
  - trigger: chained
`;
const CHILD_BOOK = `name: web.child
kind: web
action: child
steps:
  - { name: work, kind: shell, run: "echo child work", estimated_duration: 1 }
`;
const CHAINED_BOOK = `name: web.chained
kind: web
action: chained
steps:
  - { name: work, kind: shell, run: "echo chained work", estimated_duration: 1 }
`;
const GROUP_BOOK = `name: web.report
kind: web
action: report
scope: group
steps:
  - { name: report, kind: shell, run: "echo report of {{group.name}}", estimated_duration: 1 }
`;
const DESTROY_BOOK = `name: web.destroy
description: Remove the app
kind: web
action: destroy
allowed_from: [deployed]
sets_state: dropped
confirm: true
steps:
  - { name: remove, kind: shell, run: "echo removed {{deployment.name}}", estimated_duration: 1 }
`;
const SLOW_BOOK = `name: web.slow
kind: web
action: slow
steps:
  - { name: overrun, kind: shell, run: "for i in $(seq 1 10); do echo slow $i; sleep 1; done", estimated_duration: 1, estimated_duration_over_stop: 60 }
  - { name: after, kind: shell, run: "echo after", estimated_duration: 1 }
`;

const AXE = readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('portal in a browser', () => {
  let app: TestApp;
  let booksDir: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set QUIRE_CHROMIUM)`);
    mkdirSync(SHOTS, { recursive: true });
    booksDir = mkdtempSync(join(tmpdir(), 'quire-portal-books-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    writeFileSync(join(booksDir, 'web.deploy.book.yaml'), DEPLOY_BOOK);
    writeFileSync(join(booksDir, 'web.soak.book.yaml'), SOAK_BOOK);
    writeFileSync(join(booksDir, 'web.check.book.yaml'), CHECK_BOOK);
    writeFileSync(join(booksDir, 'web.release.book.yaml'), RELEASE_BOOK);
    const more = { mixed: MIXED_BOOK, parent: PARENT_BOOK, child: CHILD_BOOK, chained: CHAINED_BOOK, report: GROUP_BOOK, destroy: DESTROY_BOOK, slow: SLOW_BOOK };
    for (const [name, text] of Object.entries(more)) writeFileSync(join(booksDir, `web.${name}.book.yaml`), text);
    // A short grace period: the worker's shutdown waits it out (its timer is not cleared).
    app = await startTestApp({ booksDir, env: { QUIRE_SHUTDOWN_GRACE_SECONDS: '1' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
    if (booksDir) rmSync(booksDir, { recursive: true, force: true });
  });

  afterEach(() => {
    // CSP violations, script errors and failed module loads all surface here.
    const found = problems.splice(0);
    expect(found).toEqual([]);
  });

  async function open(viewport = LAPTOP, options: { blockSocketIo?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      const text = message.text();
      if (message.type() !== 'error') return;
      // Expected noise: the API's refusals shown in the page, and the blocked socket.io client.
      if (/status of (400|401|403|404|409)/.test(text)) return;
      if (options.blockSocketIo && /socket\.io|net::ERR_FAILED/.test(text)) return;
      problems.push(`console: ${text}`);
    });
    if (options.blockSocketIo) await page.route('**/socket.io/**', (route) => route.abort());
    return page;
  }

  async function signIn(page: Page, token = app.token): Promise<void> {
    await page.goto(`${app.url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
  }

  /**
   * GET /api/me as the server answers it; where the server has no such route yet (404), the
   * answer given here, so the portal's use of the role is tested either way.
   */
  async function meAnswers(page: Page, me: { name: string; role: string; clusters: null }): Promise<void> {
    await page.route('**/api/me', async (route) => {
      const response = await route.fetch();
      if (response.status() === 404) await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(me) });
      else await route.fulfill({ response });
    });
  }

  const shot = async (page: Page, name: string) => {
    await sleep(600); // let the progress bar's glide finish
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
  };

  /** axe-core on the page as it is: serious and critical violations fail the test. */
  async function axe(page: Page, where: string): Promise<void> {
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations
        .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
        .map((v: any) => `${v.id}: ${v.help} at ${v.nodes.map((n: any) => n.target.join(' ')).slice(0, 3).join('; ')}`);
    });
    expect({ where, violations }).toEqual({ where, violations: [] });
  }

  const jobBadge = (page: Page) => page.locator('.page-head h1 .badge');
  const settled = async (id: string, ms = 30_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const job = (await app.api('GET', `/api/jobs/${id}`)).body.job;
      if (['done', 'error', 'cancel'].includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
      await sleep(200);
    }
  };
  const stepOutput = (page: Page, step: string) =>
    page.locator('li.step', { has: page.getByRole('heading', { name: step }) }).locator('pre.output');

  async function waitForJobState(page: Page, state: string, ms = 30_000): Promise<void> {
    await page.waitForFunction((s) => document.querySelector('.page-head h1 .badge')?.textContent === s, state, { timeout: ms });
  }

  it('refuses a bad token, signs in with a good one and shows deployments by cluster and group', async () => {
    const page = await open();
    await page.goto(`${app.url}/`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Sign in to Quire');
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/The API refused this token/).waitFor();
    await shot(page, 'laptop-signin-refused');

    await page.getByLabel('API token').fill(app.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('quire.token'))).toBe(app.token);

    const euWest = page.getByRole('region', { name: /eu-west/ });
    await euWest.getByRole('region', { name: /shop/ }).getByRole('heading', { name: 'shop-web' }).waitFor();
    await expect(euWest.getByRole('region', { name: /blog/ }).getByRole('heading', { name: 'blog-web' }).count()).resolves.toBe(1);
    await expect(
      page
        .getByRole('region', { name: /us-east/ })
        .getByRole('heading', { name: 'edge-proxy' })
        .count(),
    ).resolves.toBe(1);
    await page.locator('#connection', { hasText: 'Live' }).waitFor();
    await shot(page, 'laptop-deployments');

    // Signing out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('quire.token'))).toBeNull();
  });

  it('triggers a deploy from the generated form and watches it run live, without a reload', async () => {
    const page = await open();
    await signIn(page);
    await page.getByRole('link', { name: 'deploy shop-web' }).click();
    await page.getByRole('heading', { name: 'Parameters' }).waitFor();

    // The form follows the schema: defaults, required marker, pattern hint, enum, boolean.
    const release = page.getByLabel(/release/);
    await expect(release.inputValue()).resolves.toBe('1.0.0');
    expect(await release.getAttribute('required')).not.toBeNull();
    expect(await page.locator('[data-param="release"] label').textContent()).toContain('*');
    await expect(page.getByText('Pattern: ^[0-9]+\\.[0-9]+\\.[0-9]+$').count()).resolves.toBe(1);
    await expect(page.getByLabel(/replicas/).inputValue()).resolves.toBe('2');
    await expect(
      page
        .getByLabel(/strategy/)
        .locator('option')
        .allTextContents(),
    ).resolves.toEqual(['rolling', 'blue-green']);
    await expect(page.getByLabel(/dry_run/).isChecked()).resolves.toBe(false);

    // The API's 400 details land next to the fields they name.
    await release.fill('latest!');
    await page.getByLabel(/replicas/).fill('9');
    await page.getByRole('button', { name: 'Run deploy' }).click();
    const releaseError = page.locator('[data-param="release"] .field-error');
    await releaseError.waitFor();
    expect(await releaseError.textContent()).toMatch(/pattern/);
    expect(await page.locator('[data-param="replicas"] .field-error').textContent()).toMatch(/<= 5/);
    await expect(release.getAttribute('aria-invalid')).resolves.toBe('true');
    await shot(page, 'laptop-form-errors');

    await release.fill('2.1.0');
    await page.getByLabel(/replicas/).fill('3');
    await page.getByLabel(/strategy/).selectOption({ label: 'blue-green' });
    await page.getByRole('button', { name: 'Run deploy' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split('/').pop()!;
    const job = (await app.api('GET', `/api/jobs/${jobId}`)).body.job;
    expect(job.params).toEqual({ release: '2.1.0', replicas: 3, strategy: 'blue-green', dry_run: false });

    // Mark the document: a reload would lose the mark.
    await page.evaluate(() => ((window as unknown as { quireMark: number }).quireMark = 1));
    const samples: { progress: number; eta: string; text: string; output: string; state: string }[] = [];
    let midRunShot = false;
    const t0 = Date.now();
    for (;;) {
      const sample = await page.evaluate(() => ({
        progress: Number((document.querySelector('#job-progress') as { value: number } | null)?.value ?? -1),
        eta: document.querySelector('.eta')?.textContent ?? '',
        text: document.querySelector('.progress-text')?.textContent ?? '',
        output: [...document.querySelectorAll('pre.output')].map((p) => p.textContent).join('\n'),
        state: document.querySelector('.page-head h1 .badge')?.textContent ?? '',
      }));
      samples.push(sample);
      if (!midRunShot && sample.state === 'running' && sample.output.includes('installing part 2')) {
        midRunShot = true;
        await shot(page, 'laptop-job-running');
      }
      if (sample.state === 'done') break;
      if (Date.now() - t0 > 40_000) throw new Error(`job did not finish: ${JSON.stringify(sample)}`);
      await sleep(200);
    }
    expect(await page.evaluate(() => (window as unknown as { quireMark?: number }).quireMark)).toBe(1);
    const progressValues = [...new Set(samples.map((s) => s.progress))];
    expect(progressValues.length).toBeGreaterThanOrEqual(4);
    // Never backwards, ends full.
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.progress).toBeGreaterThanOrEqual(samples[i - 1]!.progress);
    expect(samples.at(-1)!.progress).toBe(1000);
    expect(new Set(samples.map((s) => s.eta).filter(Boolean)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(samples.map((s) => s.text)).size).toBeGreaterThanOrEqual(3);
    // The output grew while we watched: the install step's parts appeared one after another.
    const outputs = [...new Set(samples.map((s) => s.output))];
    expect(outputs.length).toBeGreaterThanOrEqual(4);
    expect(samples.some((s) => s.output.includes('installing part 1') && !s.output.includes('installing part 3'))).toBe(true);
    expect(midRunShot).toBe(true);

    // Each line once (live chunks and the stored output never doubled up), every step done.
    await page.waitForFunction(() => document.querySelectorAll('li.step .badge.state-done').length === 4);
    const install = await stepOutput(page, 'install').textContent();
    expect(install).toBe('installing part 1 of 2.1.0\ninstalling part 2 of 2.1.0\ninstalling part 3 of 2.1.0\n');
    expect(await stepOutput(page, 'switch').textContent()).toContain('switching 3 replicas with blue-green');
    expect(await page.locator('li.step').first().locator('.attempt').textContent()).toMatch(/attempt 1 of/);
    expect(await page.locator('li.step').first().locator('.timing').textContent()).toMatch(/took .* \/ est\. 2 s/);
    await expect(page.locator('#connection').textContent()).resolves.toBe('Live');

    // should_notify: the outcome arrives as a toast.
    await page.locator('.toast', { hasText: 'deploy on shop-web: done' }).waitFor({ timeout: 10_000 });
    await shot(page, 'laptop-job-done');
  }, 90_000);

  it('cancels a long job from its page', async () => {
    const page = await open();
    await signIn(page);
    const { status, body } = await app.api('POST', '/api/deployments/shop-api/actions/soak', { params: {} });
    expect(status).toBe(202);
    // Open the page once the step has printed: its stored output and the replayed chunks must
    // not add up to the same lines twice.
    const t0 = Date.now();
    while (!(await app.api('GET', `/api/jobs/${body.job.id}`)).body.job.steps[1].output.includes('tick 2')) {
      if (Date.now() - t0 > 20_000) throw new Error('the soak step printed nothing');
      await sleep(200);
    }
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await page.getByRole('heading', { name: /soak/, level: 1 }).waitFor();
    await stepOutput(page, 'soak').filter({ hasText: 'tick 2' }).waitFor({ timeout: 20_000 });
    const before = await stepOutput(page, 'soak').textContent();
    await stepOutput(page, 'soak').filter({ hasText: 'tick 5' }).waitFor({ timeout: 10_000 });
    const ticks = (await stepOutput(page, 'soak').textContent())!.trim().split('\n');
    expect(ticks.length).toBeGreaterThan(before!.trim().split('\n').length);
    expect(ticks).toEqual(ticks.map((_, i) => `tick ${i + 1}`));
    await expect(page.locator('li.step').nth(1).locator('.timing').textContent()).resolves.toMatch(/elapsed \/ est\. 30 s/);
    await shot(page, 'laptop-job-long-running');

    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await waitForJobState(page, 'cancel', 15_000);
    await page.locator('li.step').nth(1).locator('.badge', { hasText: 'cancel' }).waitFor({ timeout: 5000 });
    await expect(page.locator('li.step').nth(1).locator('.badge').textContent()).resolves.toBe('cancel');
    await expect(page.getByRole('button', { name: 'Resume job' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Cancel job' }).isVisible()).resolves.toBe(false);
    expect((await app.api('GET', `/api/jobs/${body.job.id}`)).body.job.state).toBe('cancel');
    await shot(page, 'laptop-job-cancelled');
  }, 60_000);

  it("shows a failed job's attempts and errors, and the deployment's last error", async () => {
    const page = await open();
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/shop-api/actions/check', { params: {} });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await waitForJobState(page, 'error', 20_000);
    const probe = page.locator('li.step').first();
    await expect(probe.locator('.attempt').textContent()).resolves.toBe('attempt 2 of 2');
    await probe.locator('.step-errors summary', { hasText: 'Attempts and errors (2)' }).waitFor();
    await probe.locator('.step-errors summary').click();
    expect(await probe.locator('.errors li').count()).toBe(2);
    expect(await probe.locator('.step-error-message').textContent()).toMatch(/75/);
    // Markup in the output is shown as text, never parsed.
    expect(await probe.locator('pre.output').textContent()).toContain('<b>probing</b>');
    expect(await probe.locator('pre.output b').count()).toBe(0);
    await expect(page.getByRole('button', { name: 'Resume job' }).isVisible()).resolves.toBe(true);
    await shot(page, 'laptop-job-failed');

    await page.getByRole('link', { name: 'Deployments' }).click();
    const card = page.getByRole('article', { name: 'shop-api' });
    await card.locator('.last-error').waitFor();
    expect(await card.locator('.last-error dd').textContent()).toMatch(/^check: /);
    await shot(page, 'laptop-deployments-after-jobs');
  }, 60_000);

  it('acknowledges a manual step that waits for a person', async () => {
    const page = await open();
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/blog-web/actions/release', { params: {} });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    const approve = page.locator('li.step').nth(1);
    await approve.locator('.badge', { hasText: 'waiting' }).waitFor({ timeout: 15_000 });
    await approve.getByText('Check blog-web in staging, then acknowledge.').waitFor();
    await approve.getByLabel('Note (optional)').fill('looks good');
    await shot(page, 'laptop-job-manual-step');
    await approve.getByRole('button', { name: 'Acknowledge' }).click();
    await waitForJobState(page, 'done', 15_000);
    const steps = (await app.api('GET', `/api/jobs/${body.job.id}`)).body.job.steps;
    expect(steps[1].resolution).toMatchObject({ outcome: 'ack', note: 'looks good' });
    // The page may still be applying a read that began before the last step ran; it reads again.
    const output = page.locator('li.step').nth(2).locator('pre.output');
    await output.filter({ hasText: 'published' }).waitFor({ timeout: 5000 });
    expect(await output.textContent()).toBe('published\n');
  }, 45_000);

  it('reconnects after the server drops it and catches up with since, without doubling output', async () => {
    const page = await open();
    const subscribes: string[] = [];
    // socket.io may send them over HTTP long-polling before it upgrades to a WebSocket.
    page.on('websocket', (ws) =>
      ws.on(
        'framesent',
        (frame) => typeof frame.payload === 'string' && frame.payload.includes('"subscribe"') && subscribes.push(frame.payload),
      ),
    );
    page.on('request', (request) => {
      const data = request.method() === 'POST' && request.url().includes('/socket.io/') ? request.postData() : null;
      if (data?.includes('"subscribe"')) subscribes.push(...data.split('\x1e').filter((p) => p.includes('"subscribe"')));
    });
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/shop-web/actions/deploy', { params: { release: '4.0.0' } });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await stepOutput(page, 'install').filter({ hasText: 'installing part 1 of 4.0.0' }).waitFor({ timeout: 15_000 });
    // The server drops every socket.io client, twice, while the job runs.
    const io = (app.server.app.get(EventsGateway) as unknown as { io: { disconnectSockets(): void } }).io;
    const dropAndWait = async () => {
      io.disconnectSockets();
      await page.waitForFunction(() => document.querySelector('#connection')?.textContent !== 'Live', undefined, {
        timeout: 5000,
        polling: 50,
      });
      await page.locator('#connection', { hasText: 'Live' }).waitFor({ timeout: 10_000 });
    };
    await dropAndWait();
    await sleep(500);
    await dropAndWait();
    await waitForJobState(page, 'done');
    await page.locator('#connection', { hasText: 'Live' }).waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('li.step .badge.state-done').length === 4);
    expect(await stepOutput(page, 'install').textContent()).toBe(
      'installing part 1 of 4.0.0\ninstalling part 2 of 4.0.0\ninstalling part 3 of 4.0.0\n',
    );
    expect(await stepOutput(page, 'verify').textContent()).toBe('verified\n');
    // The job page subscribed from the start, then again from the last seq it had seen.
    const jobSubscribes = subscribes.filter((f) => f.includes(body.job.id));
    expect(jobSubscribes[0]).toContain('"since":0');
    const resumedFrom = jobSubscribes.slice(1).map((f) => Number(/"since":(\d+)/.exec(f)?.[1] ?? NaN));
    expect(resumedFrom.length).toBeGreaterThanOrEqual(2);
    expect(resumedFrom.every((seq) => seq > 0)).toBe(true);
  }, 60_000);

  it('lists jobs with filters', async () => {
    const page = await open();
    await signIn(page);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    await page.locator('.jobs-table tbody tr').first().waitFor();
    expect(await page.locator('.jobs-table tbody tr').count()).toBeGreaterThanOrEqual(2);

    await page.getByLabel('State').selectOption('cancel');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.jobs-table tbody tr')].every((tr) => tr.querySelector('.badge')?.textContent === 'cancel'),
    );
    await expect(page.locator('.jobs-table tbody tr').count()).resolves.toBe(1);
    expect(page.url()).toContain('state=cancel');

    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Target').fill('shop-web');
    const shopWebJobs = (await app.api('GET', '/api/jobs?deployment=shop-web')).body.jobs.length;
    expect(shopWebJobs).toBeGreaterThanOrEqual(1);
    await page.waitForFunction((n) => {
      const rows = [...document.querySelectorAll('.jobs-table tbody tr')];
      return rows.length === n && rows.every((row) => row.textContent!.includes('shop-web'));
    }, shopWebJobs);
    await shot(page, 'laptop-jobs');
  });

  it('works without socket.io by polling every 2 s', async () => {
    const page = await open(LAPTOP, { blockSocketIo: true });
    await signIn(page);
    await page.locator('#connection', { hasText: 'Polling every 2 s' }).waitFor();
    const { body } = await app.api('POST', '/api/deployments/blog-web/actions/deploy', { params: { release: '3.0.0' } });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await page.getByRole('heading', { name: /deploy/, level: 1 }).waitFor();
    const seen = new Set<string>();
    const t0 = Date.now();
    while (Date.now() - t0 < 40_000) {
      seen.add(
        await page.evaluate(
          () =>
            `${(document.querySelector('#job-progress') as { value: number }).value}|${[...document.querySelectorAll('pre.output')].map((p) => p.textContent).join('')}`,
        ),
      );
      if ((await jobBadge(page).textContent()) === 'done') break;
      await sleep(300);
    }
    expect(await jobBadge(page).textContent()).toBe('done');
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(await stepOutput(page, 'install').textContent()).toContain('installing part 3 of 3.0.0');
  }, 60_000);

  it('shows a read-only token no action buttons, and the API refusal if it tries', async () => {
    const { token } = await app.server.app.get(TokensService).create('portal viewer', 'viewer');
    const page = await open();
    await meAnswers(page, { name: 'portal viewer', role: 'viewer', clusters: null });
    await signIn(page, token);
    await page.getByRole('heading', { name: 'shop-web' }).waitFor();
    await expect(page.getByRole('link', { name: 'deploy shop-web' }).count()).resolves.toBe(0);
    await expect(page.locator('.account .role').textContent()).resolves.toBe('viewer (read only)');
    await page.goto(`${app.url}/#/run/deployment/edge-proxy/deploy`);
    await page.getByRole('button', { name: 'Run deploy' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /Not allowed: this call needs the 'operator' role/ })
      .waitFor();
  });

  it('is readable on a phone', async () => {
    const page = await open(PHONE);
    await signIn(page);
    await page.getByRole('heading', { name: 'edge-proxy' }).waitFor();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot(page, 'phone-deployments');

    const { body } = await app.api('POST', '/api/deployments/edge-proxy/actions/deploy', { params: {} });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await stepOutput(page, 'install').filter({ hasText: 'installing part 2' }).waitFor({ timeout: 20_000 });
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot(page, 'phone-job-running');
    await waitForJobState(page, 'done');

    await page.goto(`${app.url}/#/jobs`);
    await page.locator('.jobs-table tbody tr').first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot(page, 'phone-jobs');

    await page.goto(`${app.url}/#/run/deployment/edge-proxy/deploy`);
    await page.getByRole('heading', { name: 'Parameters' }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot(page, 'phone-form');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'phone-form-dark');
  }, 60_000);

  it('tells outcomes truly: counts, ignored failures, plain skip reasons, outputs apart from the log', async () => {
    for (const viewport of [LAPTOP, PHONE]) {
      const page = await open(viewport);
      await signIn(page);
      const { body } = await app.api('POST', '/api/deployments/blog-web/actions/mixed', { params: {} });
      await page.goto(`${app.url}/#/jobs/${body.job.id}`);
      await waitForJobState(page, 'error', 20_000);
      await page.locator('.progress-text', { hasText: 'Failed at step breaks: 3 ran · 1 failed · 1 ignored · 2 skipped.' }).waitFor({ timeout: 10_000 });
      // The bar shows what ran (3 of 5), never a full bar for a job that did not finish.
      await page.waitForFunction(() => document.querySelector('#job-progress').value === 600, undefined, { timeout: 5000 });
      expect(await page.locator('#job-progress').getAttribute('aria-valuetext')).toBe('60%, 3 ran · 1 failed · 1 ignored · 2 skipped');
      const flaky = page.locator('li.step').nth(1);
      // Events set the counts first; the steps' policies come with the page's read of the ended job.
      await flaky.locator('.ignored-tag').waitFor({ timeout: 10_000 });
      await flaky.locator('.step-error-message', { hasText: /^Failed, ignored \(on_failure: ignore\): / }).waitFor({ timeout: 10_000 });
      const optional = page.locator('li.step').nth(2);
      await optional.locator('.step-skip-reason', { hasText: 'skipped: params.run_optional is false' }).waitFor({ timeout: 10_000 });
      expect(await optional.locator('.step-skip-reason').textContent()).toBe('skipped: params.run_optional is false');
      expect(await optional.locator('.error-text').count()).toBe(0);
      // `::output version=1.2.3` is an output, not a log line.
      const first = page.locator('li.step').first();
      await first.locator('.step-outputs dd', { hasText: '1.2.3' }).waitFor();
      await first.locator('.step-output summary').click();
      expect(await first.locator('pre.output').textContent()).toBe('one\n');
      await shot(page, `${viewport === PHONE ? 'phone' : 'laptop'}-job-outcomes`);
      if (viewport === PHONE) expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    }
  }, 60_000);

  it('links a parent, its trigger step, the child and the chained job both ways, by short id too', async () => {
    const page = await open();
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/edge-proxy/actions/parent', {});
    const parent = await settled(body.job.id);
    const chained = await (async () => {
      for (let i = 0; i < 100; i++) {
        const found = (await app.api('GET', `/api/jobs/${parent.id}`)).body.job.children.find((c: any) => c.action === 'chained');
        if (found) return settled(found.id);
        await sleep(200);
      }
      throw new Error('no chained job');
    })();
    const child = (await app.api('GET', `/api/jobs/${parent.id}`)).body.job.children.find((c: any) => c.action === 'child');
    // The 8-character id shown everywhere resolves in the address bar.
    await page.goto(`${app.url}/#/jobs/${parent.id.slice(0, 8)}`);
    await waitForJobState(page, 'done');
    const related = page.locator('.related-jobs');
    await related.getByRole('link', { name: 'child · edge-proxy' }).waitFor();
    await related.getByRole('link', { name: 'chained · edge-proxy' }).waitFor();
    // The trigger step links the job it made.
    const call = page.locator('li.step').first();
    await call.locator('.step-trigger-link a', { hasText: `job ${child.id.slice(0, 8)}` }).waitFor();
    await shot(page, 'laptop-job-parent');
    await call.locator('.step-trigger-link a').click();
    await page.waitForURL(new RegExp(`#/jobs/${child.id}$`));
    await page.getByRole('heading', { level: 1, name: /child · edge-proxy/ }).waitFor();
    // ...and back: "Triggered by" names and links the parent.
    const by = page.locator('.facts div', { has: page.getByText('Triggered by', { exact: true }) }).locator('a');
    await by.filter({ hasText: `parent job ${parent.id.slice(0, 8)} on edge-proxy` }).waitFor();
    await page.locator('.related-jobs').getByRole('link', { name: 'parent · edge-proxy' }).click();
    await page.waitForURL(new RegExp(`#/jobs/${parent.id}$`));
    await page.goto(`${app.url}/#/jobs/${chained.id}`);
    await page.locator('.related-jobs').getByRole('link', { name: 'parent · edge-proxy' }).waitFor();

    // A group job is titled with the group's name.
    const report = (await app.api('POST', '/api/groups/shop/actions/report', {})).body.job;
    await page.goto(`${app.url}/#/jobs/${report.id}`);
    await page.getByRole('heading', { level: 1, name: /report · group shop/ }).waitFor();
  }, 60_000);

  it('shows who acted, with the note, on a timeline beside a Gantt of steps against estimates', async () => {
    const page = await open();
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/blog-web/actions/release', { params: {} });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    const approve = page.locator('li.step').nth(1);
    await approve.locator('.badge', { hasText: 'waiting' }).waitFor({ timeout: 15_000 });
    // The navigation counts jobs waiting for a person.
    try {
      await page.locator('.nav-count', { hasText: '1' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('.nav-count').getAttribute('aria-label')).toBe('1 job waiting for a person');
    } catch (error) {
      await app.api('POST', `/api/jobs/${body.job.id}/cancel`); // leave no job waiting for the tests after this one
      throw error;
    }
    await approve.getByLabel('Note (optional)').fill('staging looks right');
    await approve.getByRole('button', { name: 'Acknowledge' }).click();
    await waitForJobState(page, 'done', 15_000);
    const activity = page.locator('ol.activity li');
    await activity.filter({ hasText: 'acknowledged step approve' }).waitFor({ timeout: 10_000 });
    expect(await activity.filter({ hasText: 'acknowledged' }).textContent()).toContain('initial admin acknowledged step approve');
    expect(await activity.filter({ hasText: 'acknowledged' }).locator('q').textContent()).toBe('staging looks right');
    expect(await activity.first().textContent()).toContain('initial admin triggered the job');
    await expect(page.locator('.gantt .gantt-row').count()).resolves.toBe(3);
    expect(await page.locator('.gantt-row').first().locator('.gantt-figure').textContent()).toMatch(/ \/ est\. 1 s$/);
    await page.waitForFunction(() => !document.querySelector('.nav-count') || document.querySelector('.nav-count').hidden, undefined, { timeout: 10_000 });
    await shot(page, 'laptop-job-activity');
  }, 45_000);

  it('keeps the ETA honest while a step overruns: never below zero, growing, the bar still moving', async () => {
    const page = await open();
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/shop-api/actions/slow', {});
    // Where the estimate comes from, when the server says (the eta helper's progress.eta_basis).
    await page.route(`**/api/jobs/${body.job.id}`, async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      json.job.progress = { ...json.job.progress, eta_basis: 'history', eta_runs: 12 };
      await route.fulfill({ response, json });
    });
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await page.locator('.eta-basis', { hasText: 'ETA learned from 12 runs' }).waitFor({ timeout: 10_000 });
    const samples: { eta: string; value: number; output: string }[] = [];
    const deadline = Date.now() + 90_000;
    for (;;) {
      const sample = await page.evaluate(() => ({
        eta: document.querySelector('.eta')?.textContent ?? '',
        value: Number(document.querySelector('#job-progress').value),
        output: document.querySelector('li.step pre.output')?.textContent ?? '',
        step: document.querySelector('li.step .badge')?.textContent ?? '',
        state: document.querySelector('.page-head h1 .badge')?.textContent ?? '',
      }));
      // Past its 1 s estimate: from the second line on, while the step still runs.
      if (sample.step === 'running' && sample.output.includes('slow 2')) samples.push(sample);
      if (sample.state === 'done' || Date.now() > deadline) break;
      await sleep(250);
    }
    expect(samples.length).toBeGreaterThanOrEqual(10);
    const seconds = samples.map((s) => Number(/ETA ([\d.]+) s/.exec(s.eta)?.[1] ?? NaN));
    // Past its 1 s estimate the step's remainder is never zero and grows with it.
    expect(seconds.every((n) => n > 0)).toBe(true);
    expect(Math.max(...seconds)).toBeGreaterThan(seconds[0]!);
    const values = samples.map((s) => s.value);
    expect(new Set(values).size).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]!);
    // The log tools: search, times per line, download.
    await waitForJobState(page, 'done', 30_000);
    await page.getByLabel('Search output').fill('slow 4');
    await page.locator('li.step').first().locator('.step-output summary', { hasText: '1 matching' }).waitFor();
    expect(await stepOutput(page, 'overrun').textContent()).toBe('slow 4\n');
    await page.getByLabel('Search output').fill('');
    await page.getByLabel('Times per line').check();
    expect((await stepOutput(page, 'overrun').textContent())!.split('\n')[0]).toMatch(/^\[\d{1,2}:\d{2}:\d{2}.*\] slow 1$/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('li.step').first().getByRole('button', { name: 'Download output' }).click(),
    ]);
    const file = await download.path();
    expect(readFileSync(file!, 'utf8')).toBe(Array.from({ length: 10 }, (_, i) => `slow ${i + 1}\n`).join(''));
    await shot(page, 'laptop-job-logs');
  }, 150_000);

  it('jumps to the running step', async () => {
    const page = await open(PHONE);
    await signIn(page);
    const { body } = await app.api('POST', '/api/deployments/shop-api/actions/slow', {});
    await page.goto(`${app.url}/#/jobs/${body.job.id}`);
    await page.getByRole('button', { name: 'Jump to running step' }).click({ timeout: 15_000 });
    await page.waitForFunction(() => document.activeElement?.closest('li.step')?.getAttribute('aria-current') === 'step');
    await shot(page, 'phone-job-jump');
    await waitForJobState(page, 'done', 60_000);
  }, 90_000);

  it('shows on deployment cards the job that set the state, the release, only allowed actions, and types to confirm', async () => {
    const page = await open();
    await signIn(page);
    const deploy = (await app.api('POST', '/api/deployments/edge-proxy/actions/deploy', { params: { release: '5.0.0' } })).body.job;
    await settled(deploy.id);
    await page.goto(`${app.url}/#/deployments`);
    const card = page.getByRole('article', { name: 'edge-proxy' });
    await card.locator('.card-release code', { hasText: 'release=5.0.0' }).waitFor({ timeout: 10_000 });
    expect(await card.locator('dt', { hasText: 'State set by' }).locator('xpath=..').locator('a').getAttribute('href')).toBe(`#/jobs/${deploy.id}`);
    // shop-api was never deployed: destroy (allowed from deployed only) is not offered there.
    const draft = page.getByRole('article', { name: 'shop-api' });
    await draft.getByRole('link', { name: 'deploy shop-api' }).waitFor();
    await expect(draft.getByRole('link', { name: 'destroy shop-api' }).count()).resolves.toBe(0);
    await shot(page, 'laptop-deployments-cards');
    // destroy is confirm: true: offered as dangerous, and runs only once the name is typed.
    await card.getByRole('link', { name: 'destroy edge-proxy' }).click();
    const run = page.getByRole('button', { name: 'Run destroy' });
    await run.waitFor();
    expect(await run.isDisabled()).toBe(true);
    await page.getByLabel('Type edge-proxy to confirm').fill('edge-prox');
    expect(await run.isDisabled()).toBe(true);
    await page.getByLabel('Type edge-proxy to confirm').fill('edge-proxy');
    await shot(page, 'laptop-confirm-destroy');
    await run.click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    await waitForJobState(page, 'done');
    // Put it back for the tests after this one.
    await app.api('PATCH', '/api/deployments/edge-proxy', { state: 'deployed' });
  }, 60_000);

  it('says when a different trigger meets a live job, and links to it; re-runs with params prefilled', async () => {
    const page = await open();
    await signIn(page);
    // A release that waits for a person stays live while the form asks for another channel.
    const first = (await app.api('POST', '/api/deployments/shop-api/actions/release', { params: { channel: 'beta' } })).body.job;
    await page.goto(`${app.url}/#/run/deployment/shop-api/release`);
    await page.getByLabel(/channel/).fill('stable');
    await page.getByRole('button', { name: 'Run release' }).click();
    const alert = page.locator('.form-errors');
    await alert.getByRole('link', { name: `job ${first.id.slice(0, 8)}` }).waitFor({ timeout: 10_000 });
    expect(await alert.textContent()).toContain('already live on shop-api with other params ({"channel":"beta"})');
    await shot(page, 'laptop-run-conflict');
    await alert.getByRole('link', { name: `job ${first.id.slice(0, 8)}` }).click();
    await page.waitForURL(new RegExp(`#/jobs/${first.id}$`));
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await waitForJobState(page, 'cancel', 15_000);
    await page.getByRole('link', { name: 'Re-run…' }).click();
    await page.getByText(`Re-run of job ${first.id.slice(0, 8)}`).waitFor();
    await expect(page.getByLabel(/channel/).inputValue()).resolves.toBe('beta');
    // The cancel is on the record, by whom.
    const activity = (await app.api('GET', `/api/jobs/${first.id}`)).body.job.activity.map((a: any) => a.what);
    expect(activity).toEqual(['triggered', 'cancelled']);
  }, 60_000);

  it('finds jobs by text, action, target, state, date and needing attention', async () => {
    const page = await open();
    await signIn(page);
    await page.goto(`${app.url}/#/jobs?attention=true`);
    await page.locator('.jobs-table tbody tr').first().waitFor();
    const states = await page.locator('.jobs-table tbody tr .badge').allTextContents();
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => s === 'error' || s === 'running')).toBe(true);
    await page.goto(`${app.url}/#/jobs`);
    // A hash change: the attention view's fields stay in the page until the new view replaces
    // them, and text typed into the old ones is lost with them.
    await page.waitForFunction(() => (document.querySelector('#filter-attention') as { checked?: boolean } | null)?.checked === false);
    await page.getByLabel('Search').fill('mixed');
    // The text search also reads params, errors and who triggered: the page shows what the API finds.
    const found = (await app.api('GET', '/api/jobs?q=mixed')).body.jobs.length;
    expect(found).toBeGreaterThan(0);
    await page.waitForFunction((n) => {
      const rows = [...document.querySelectorAll('.jobs-table tbody tr')];
      return rows.length === n && rows.some((r) => r.textContent.includes('mixed'));
    }, found);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Action').fill('report');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('.jobs-table tbody tr')];
      return rows.length === 1 && rows[0].textContent.includes('group shop');
    });
    await page.getByLabel('Since').fill('2999-01-01');
    await page.getByText('No jobs match these filters.').waitFor();
    expect(page.url()).toContain('since=2999-01-01');
    await shot(page, 'laptop-jobs-filters');
  });

  it('pages and filters many deployments, reading the fleet once per refresh', async () => {
    for (let i = 0; i < 60; i++) {
      const name = `fleet-${String(i).padStart(3, '0')}`;
      expect((await app.api('POST', '/api/deployments', { name, kind: 'web', group: 'edge' })).status).toBe(201);
    }
    const page = await open();
    const reads: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/')) reads.push(`${r.method()} ${url.pathname}`);
    });
    await signIn(page);
    await page.locator('p[role=status]', { hasText: /^1–50 of 64 deployments$/ }).waitFor();
    // No probe that acts (the old fake cancel), and one fleet read for one view.
    expect(reads.filter((r) => r.startsWith('POST'))).toEqual([]);
    // One read for the view, and at most one more when the live connection has caught up.
    expect(reads.filter((r) => r === 'GET /api/fleet').length).toBeLessThanOrEqual(2);
    expect(reads.filter((r) => r === 'GET /api/jobs')).toHaveLength(0);
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.locator('p[role=status]', { hasText: /^51–64 of 64 deployments$/ }).waitFor();
    await page.getByLabel('Search').fill('fleet-05');
    await page.locator('p[role=status]', { hasText: /^1–10 of 10 deployments$/ }).waitFor();
    expect(page.url()).toContain('q=fleet-05');
    // A deployment whose last job failed needs attention; the filter shows only such ones.
    await settled((await app.api('POST', '/api/deployments/fleet-007/actions/check', {})).body.job.id);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Needs attention').check();
    await page.getByRole('article', { name: 'fleet-007' }).locator('.last-error').waitFor();
    const cards = page.locator('article.deployment');
    expect(await cards.count()).toBe(await cards.filter({ has: page.locator('.last-error') }).count());
    await shot(page, 'laptop-deployments-attention');
    await page.setViewportSize(PHONE);
    await page.getByLabel('Needs attention').uncheck();
    await page.locator('p[role=status]', { hasText: /of 64 deployments$/ }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot(page, 'phone-deployments-paged');
  }, 60_000);

  it('sends compressed answers and static files that revalidate by content hash', async () => {
    const js = await fetch(`${app.url}/portal/view-job.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect(js.headers.get('cache-control')).toBe('no-cache');
    const etag = js.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    await js.arrayBuffer();
    // as a browser revalidates (fetch() alone would add `cache-control: no-cache`, which forbids a 304)
    const again = await fetch(`${app.url}/portal/view-job.js`, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
    expect(again.status).toBe(304);
    const api = await fetch(`${app.url}/api/jobs?limit=50`, { headers: { authorization: `Bearer ${app.token}`, 'accept-encoding': 'gzip' } });
    expect(api.headers.get('content-encoding')).toBe('gzip');
  });

  it('has no serious accessibility violation on any page (axe-core), on a laptop and a phone', async () => {
    const { body } = await app.api('GET', '/api/jobs?limit=500');
    const done = body.jobs.find((j: any) => j.action === 'release' && j.state === 'done') ?? body.jobs[0];
    for (const viewport of [LAPTOP, PHONE]) {
      const page = await open(viewport);
      await page.goto(`${app.url}/`);
      await page.getByLabel('API token').waitFor();
      await axe(page, 'sign-in');
      await signIn(page);
      await page.getByRole('article').first().waitFor();
      await axe(page, 'deployments');
      await page.goto(`${app.url}/#/run/deployment/shop-web/deploy`);
      await page.getByRole('heading', { name: 'Parameters' }).waitFor();
      await axe(page, 'run form');
      await page.goto(`${app.url}/#/run/deployment/shop-web/destroy`);
      await page.getByLabel('Type shop-web to confirm').waitFor();
      await axe(page, 'run form with confirmation');
      await page.goto(`${app.url}/#/jobs/${done.id}`);
      await page.locator('ol.activity li').first().waitFor();
      await axe(page, 'job');
      await page.goto(`${app.url}/#/jobs`);
      await page.locator('.jobs-table tbody tr').first().waitFor();
      await axe(page, 'jobs');
      await page.goto(`${app.url}/#/schedules`);
      await page.getByRole('heading', { level: 1, name: 'Schedules' }).waitFor();
      await axe(page, 'schedules');
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${app.url}/#/jobs/${done.id}`);
      await page.locator('ol.activity li').first().waitFor();
      await axe(page, 'job, dark');
      // A running job shows its (danger) Cancel button: white on the dark theme's light red was 2:1.
      const { body: slow } = await app.api('POST', '/api/deployments/shop-api/actions/slow', {});
      await page.goto(`${app.url}/#/jobs/${slow.job.id}`);
      await page.getByRole('button', { name: 'Cancel job' }).waitFor();
      await axe(page, 'running job, dark');
      await app.api('POST', `/api/jobs/${slow.job.id}/cancel`);
    }
  }, 90_000);
});
