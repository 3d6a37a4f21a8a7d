import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, startServer, type TestServer } from '../testing/http-server.fixture.js';
import { testRun } from '../testing/step-run.fixture.js';
import { WaitStepExecutor } from './wait.step.js';

const wait = new WaitStepExecutor();

describe('wait step: duration', () => {
  it('sleeps, then is done', async () => {
    const started = Date.now();
    expect(await wait.execute(testRun({ kind: 'wait', duration: '200ms' }))).toEqual({ outcome: 'done', outputs: {} });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
  it('ends at once when aborted', async () => {
    const run = testRun({ kind: 'wait', duration: '1h' });
    setTimeout(() => run.abort('cancel'), 50);
    const started = Date.now();
    expect(await wait.execute(run)).toEqual({ outcome: 'aborted', reason: 'cancel', message: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
  it('fails on a bad duration or when there is nothing to wait for', async () => {
    expect(await wait.execute(testRun({ kind: 'wait', duration: 'soon' }))).toMatchObject({
      outcome: 'failed',
      message: expect.stringContaining("invalid duration 'soon'"),
    });
    expect(await wait.execute(testRun({ kind: 'wait' }))).toEqual({
      outcome: 'failed',
      message: 'a wait step needs `until` or `duration`',
    });
  });
});

describe('wait step: http probe', () => {
  let server: TestServer;
  let hits = 0;
  beforeAll(async () => {
    server = await startServer((_req, res) => {
      hits++;
      res.writeHead(hits >= 3 ? 200 : 503).end(hits >= 3 ? 'ready' : 'starting');
    });
  });
  afterAll(() => server.close());

  it('polls every interval until the probe passes (3rd poll)', async () => {
    const run = testRun({ kind: 'wait', until: { http: { url: `${server.url}/health` } }, interval: '100ms' });
    expect(await wait.execute(run)).toEqual({ outcome: 'done', outputs: { probes: 3 } });
    expect(run.text()).toBe(`probe 1: GET ${server.url}/health → 503\nprobe 2: GET ${server.url}/health → 503\n`);
  });

  it('uses expect_status', async () => {
    const run = testRun({ kind: 'wait', until: { http: { url: `${server.url}/health`, expect_status: [200, 503] } }, interval: '100ms' });
    expect(await wait.execute(run)).toEqual({ outcome: 'done', outputs: { probes: 1 } });
  });

  it('keeps polling through refused connections until the runner times it out', async () => {
    const run = testRun({ kind: 'wait', until: { http: { url: `http://127.0.0.1:${await closedPort()}/` } }, interval: '50ms' });
    setTimeout(() => run.abort('timeout'), 300);
    expect(await wait.execute(run)).toEqual({ outcome: 'aborted', reason: 'timeout', message: 'timed out' });
    expect(run.text()).toMatch(/^probe 1: GET .* → connection error: ECONNREFUSED\nprobe 2: /);
  });

  it('fails at once when the probe can never work', async () => {
    expect(await wait.execute(testRun({ kind: 'wait', until: { http: { url: 'nope' } } }))).toEqual({
      outcome: 'failed',
      message: "probe: invalid URL 'nope'",
    });
  });
});

describe('wait step: shell probe', () => {
  it('passes when the command exits 0, with the run env', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quire-wait-'));
    const flag = join(dir, 'ready');
    try {
      const run = testRun(
        {
          kind: 'wait',
          until: { shell: { argv: ['sh', '-c', 'test -f "$FLAG" || { echo "not yet"; exit 1; }', 'probe'] } },
          interval: '100ms',
        },
        { env: { FLAG: flag } },
      );
      setTimeout(() => writeFileSync(flag, ''), 250);
      const result = await wait.execute(run);
      expect(result).toMatchObject({ outcome: 'done', outputs: { probes: expect.any(Number) } });
      expect(result.outcome === 'done' && (result.outputs.probes as number)).toBeGreaterThanOrEqual(2);
      expect(run.text()).toMatch(/^probe 1: exit code 1: not yet\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kills a running probe when the step is aborted', async () => {
    const run = testRun({ kind: 'wait', until: { shell: { run: 'sleep 1000' } } });
    setTimeout(() => run.abort('timeout'), 100);
    const started = Date.now();
    expect(await wait.execute(run)).toEqual({ outcome: 'aborted', reason: 'timeout', message: 'timed out' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
