// The portal in a real browser (Debian's chromium through playwright-core): sign in, trigger a
// deploy from the form generated from the book's params, watch the progress bar and the output
// move without a reload, cancel a long job, filter the jobs list, a read-only token, the polling
// fallback without socket.io, and a phone-sized screen. Screenshots go to
// test-output/screenshots/ (kept by CI as artifacts).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  const shot = async (page: Page, name: string) => {
    await sleep(600); // let the progress bar's glide finish
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
  };

  const jobBadge = (page: Page) => page.locator('.page-head h1 .badge');
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
    await page.getByLabel('Deployment').selectOption('shop-web');
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
});
