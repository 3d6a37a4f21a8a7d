// A step that prints 200 MB must not grow its worker (issue 3, "Prove it"): output is streamed,
// stored bounded as head and tail, and never accumulated. The worker's resident memory is read
// from /proc while the step runs.
import { readFileSync } from 'node:fs';
import { QuireCluster, inventory, sleep, until } from '../support/processes.js';

const MB = 1024 * 1024;

const BOOK = `name: svc.loud
kind: svc
action: loud
steps:
  - name: lines
    kind: shell
    run: "echo x >> {{deployment.vars.markers}}/loud.runs; yes 'a line of output from a very talkative deploy tool 0123456789' | head -c 209715200"
  - name: binary
    kind: shell
    run: "head -c 52428800 /dev/zero; echo; echo end of binary"
`;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) * 1024;
}

describe('engine: output volume', () => {
  let cluster: QuireCluster;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 1), 'svc.loud.book.yaml': BOOK } });
    await cluster.serve();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it("a step printing 200 MB keeps the worker's memory within 100 MB of its idle level", async () => {
    const worker = await cluster.worker('loud');
    // Idle: after start-up has settled, a few samples.
    await sleep(1500);
    const idleSamples: number[] = [];
    for (let i = 0; i < 5; i++) {
      idleSamples.push(rssBytes(worker.pid));
      await sleep(100);
    }
    const idle = Math.max(...idleSamples);

    const jobId = await cluster.trigger('d1', 'loud');
    let peak = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssBytes(worker.pid));
        samples++;
      } catch {
        // the worker ended: the assertions below say so
      }
    }, 25);
    try {
      await until('the loud job to end', async () => ['done', 'error', 'cancel'].includes((await cluster.job(jobId)).state), 60_000, 100);
    } finally {
      clearInterval(sampler);
    }

    const job = await cluster.job(jobId);
    expect(job.state).toBe('done');
    expect(samples).toBeGreaterThan(10);
    const [lines, binary] = await cluster.steps(jobId);
    expect(Number((lines as any).output_bytes)).toBe(209715200);
    // Stored bounded: head + marker + tail.
    expect(lines!.output.length).toBeLessThan(70 * 1024);
    expect(lines!.output).toMatch(/… \[\d+ bytes truncated\] …/);
    expect(lines!.output.startsWith('a line of output')).toBe(true);
    // NUL bytes made safe; the output after them is kept.
    expect(binary!.output).toContain('end of binary');
    expect(binary!.output).not.toContain('\0');

    const growth = peak - idle;
    console.log(
      `200 MB step: worker RSS idle ${(idle / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB (+${(growth / MB).toFixed(1)} MB, ${samples} samples)`,
    );
    expect(growth).toBeLessThan(100 * MB);
    expect(worker.alive).toBe(true);
  });
});
