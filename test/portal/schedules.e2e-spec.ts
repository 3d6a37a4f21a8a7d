// The Schedules page in a real browser: next and last run with a link to the job, run now,
// disable, override (a bad one is refused with the API's message), clear the override.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { until } from '../support/processes.js';

const CHROMIUM = process.env.QUIRE_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');

const INVENTORY = `clusters:
  - name: eu
    groups:
      - name: shop
        deployments:
          - { name: shop-web, kind: web }
`;

// once a year, so nothing fires by itself while the test runs
const BACKUP = `name: web.backup
kind: web
action: backup
steps:
  - name: archive
    kind: shell
    run: "echo archived"
schedules:
  - cron: "0 0 1 1 *"
`;

describe('portal: schedules', () => {
  let app: TestApp;
  let booksDir: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set QUIRE_CHROMIUM)`);
    mkdirSync(SHOTS, { recursive: true });
    booksDir = mkdtempSync(join(tmpdir(), 'quire-portal-schedules-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    writeFileSync(join(booksDir, 'web.backup.book.yaml'), BACKUP);
    app = await startTestApp({ booksDir, env: { QUIRE_SHUTDOWN_GRACE_SECONDS: '1' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // 404: the sign-in's role probe (a cancel of a job that cannot exist); 400: the bad override, shown in the page
      if (message.type() === 'error' && !/status of (400|404)/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (booksDir) rmSync(booksDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  const row = () => page.locator('tr', { hasText: 'shop-web' });
  const schedule = async () => (await app.api('GET', '/api/schedules')).body.schedules[0];

  it('lists the schedule from the nav with its next run, runs it now and links the job', async () => {
    await page.goto(`${app.url}/`);
    await page.getByLabel('API token').fill(app.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { level: 1, name: 'Schedules' }).waitFor();
    await row().getByText('cron 0 0 1 1 *').waitFor();
    expect(await row().locator('time').first().getAttribute('datetime')).toBe((await schedule()).next_run_at);
    await row().getByText('never').waitFor();

    await row().getByRole('button', { name: 'Run now' }).click();
    const job = await until('the run-now job', async () => (await schedule()).last_job_id);
    const link = row().getByRole('link', { name: `job ${job.slice(0, 8)}` });
    await link.waitFor();
    await page.screenshot({ path: join(SHOTS, 'schedules.png') });
    await link.click();
    await page.waitForURL(`**/#/jobs/${job}`);
  });

  it('disables, overrides and clears the override', async () => {
    await page.goto(`${app.url}/#/schedules`);
    await row().getByRole('button', { name: 'Disable' }).click();
    await row().getByText('disabled').waitFor();
    expect((await schedule()).enabled).toBe(false);
    await row().getByRole('button', { name: 'Enable' }).click();
    await row().getByRole('button', { name: 'Disable' }).waitFor();

    await row().getByLabel('Override kind').selectOption('cron');
    await row().getByLabel('Override value').fill('61 * * * *');
    await row().getByRole('button', { name: 'Override' }).click();
    await page.getByText(/override\.cron: '61 \* \* \* \*' is not a valid cron expression/).waitFor();
    expect((await schedule()).override).toBeNull();

    await row().getByLabel('Override kind').selectOption('at');
    await row().getByLabel('Override value').fill('02:00, 14:30');
    await row().getByRole('button', { name: 'Override' }).click();
    await row().getByText('at 02:00, 14:30').waitFor();
    expect((await schedule()).override).toEqual({ at: ['02:00', '14:30'] });

    await row().getByRole('button', { name: 'Clear' }).click();
    await row().getByRole('button', { name: 'Clear' }).waitFor({ state: 'detached' });
    expect((await schedule()).override).toBeNull();
  });
});
