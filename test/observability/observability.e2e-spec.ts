// Observability on real processes (issue 7 "Prove it"): /metrics parses as Prometheus text and
// its counters move when a job runs; /health reports the database and this node's worker;
// QUIRE_LOG_FORMAT=json writes JSON lines carrying the job, step and deployment; the route
// table is logged at debug level only.
import { QuireCluster, inventory, type QuireProcess } from '../support/processes.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';

const BOOK = 'o.work';

describe('observability', () => {
  let cluster: QuireCluster;
  let jsonNode: QuireProcess;
  let textNode: QuireProcess;
  let textUrl: string;

  beforeAll(async () => {
    cluster = await QuireCluster.start({
      books: {
        'inventory.yaml': inventory('o', 1),
        'o.work.book.yaml': `name: ${BOOK}
kind: o
action: work
steps:
  - name: first
    kind: shell
    run: "echo one"
  - name: second
    kind: shell
    run: "echo two"
`,
      },
    });
    jsonNode = await cluster.serve({ engine: true, name: 'json-node', env: { QUIRE_LOG_FORMAT: 'json', QUIRE_LOG_LEVEL: 'debug' } });
    textNode = await cluster.serve({ name: 'text-node' });
    textUrl = (await textNode.waitForOutput(/listening on (http:\/\/[^\s"]+)/))[1]!;
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  const scrape = async (url = cluster.url) => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await response.text());
  };

  it('/metrics keeps its token, parses, and its counters move when a job runs', async () => {
    expect((await fetch(`${cluster.url}/metrics`)).status).toBe(401);
    const before = await scrape();
    const jobId = await cluster.trigger('d1', 'work');
    expect((await cluster.finished(jobId)).state).toBe('done');
    const after = await scrape();

    const moved = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(moved('quire_jobs_created_total', { book: BOOK })).toBe(1);
    expect(moved('quire_jobs_ended_total', { book: BOOK, outcome: 'done' })).toBe(1);
    expect(moved('quire_step_duration_seconds_count', { kind: 'shell', outcome: 'done' })).toBe(2);
    expect(moved('quire_claim_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(after.get('quire_claim_latency_seconds')?.type).toBe('histogram');
    // The queue, read from the database at the scrape: the job is done, nothing waits.
    expect(sampleValue(after, 'quire_jobs', { state: 'done', channel: 'default' })).toBe(1);
    expect(sampleValue(after, 'quire_queue_lag_seconds')).toBe(0);
    expect(after.has('quire_queue_depth')).toBe(true);
    expect(sampleValue(after, 'quire_events_seq')).toBeGreaterThan(sampleValue(before, 'quire_events_seq'));
    expect(after.get('quire_notification_deliveries_total')?.type).toBe('counter');
    // Process metrics under their usual names.
    expect(after.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(sampleValue(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // Another node sees the same queue from the database, and counts only what it did itself.
    const other = await scrape(textUrl);
    expect(sampleValue(other, 'quire_jobs', { state: 'done', channel: 'default' })).toBe(1);
    expect(sampleValue(other, 'quire_jobs_ended_total', { book: BOOK, outcome: 'done' })).toBe(0);
  }, 60_000);

  it('/health reports the database and this node\'s worker', async () => {
    const withWorker = await fetch(`${cluster.url}/health`);
    expect(withWorker.status).toBe(200);
    expect(await withWorker.json()).toEqual({
      status: 'ok',
      database: { ok: true, latency_ms: expect.any(Number) },
      worker: expect.objectContaining({ enabled: true, id: 'json-node', ok: true, running: expect.any(Number), concurrency: 8 }),
    });
    const apiOnly = await fetch(`${textUrl}/health`);
    expect(apiOnly.status).toBe(200);
    expect(await apiOnly.json()).toMatchObject({ status: 'ok', worker: { enabled: false } });
  });

  it('QUIRE_LOG_FORMAT=json: every line is JSON, and the job\'s lines carry its ids', async () => {
    const jobId = await cluster.trigger('d1', 'work');
    await cluster.finished(jobId);
    const entries: Record<string, unknown>[] = [];
    for (const line of jsonNode.output().split('\n').filter(Boolean)) {
      // The first admin token is printed for a person (DESIGN.md); Node's own warnings go to stderr.
      if (/^admin token: |^\(node:\d+\) |^\(Use `node --trace/.test(line)) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String), node: 'json-node' }));
      entries.push(entry);
    }
    const mine = entries.filter((e) => e.job_id === jobId);
    expect(mine).toContainEqual(
      expect.objectContaining({ level: 'info', context: 'Runner', deployment: 'd1', cluster: 'c1', book: BOOK, msg: expect.stringContaining('ended done') }),
    );
    expect(mine).toContainEqual(expect.objectContaining({ level: 'debug', step: 'first', deployment: 'd1', msg: expect.stringContaining('started') }));
    // Route mapping: at debug level, where this node asked for it.
    expect(entries).toContainEqual(expect.objectContaining({ level: 'debug', context: 'RouterExplorer' }));
    expect(entries.filter((e) => e.context === 'RouterExplorer' && e.level !== 'debug')).toEqual([]);
  }, 60_000);

  it('text logs by default, without the route table at the default level', () => {
    const output = textNode.output();
    expect(output).toMatch(/LOG \[Quire\] listening on http/);
    expect(output).not.toMatch(/Mapped \{/);
    expect(output).not.toMatch(/^\{"level"/m);
  });
});
