// Live output carries every byte a step prints, also when it prints a burst faster than the
// runner's flush interval: the `output` events of a step, joined, are its whole output. Past
// a burst allowance live output is rate-bounded, with a marker of what it left out.
import { QuireCluster, inventory, type EventRow } from '../support/processes.js';

const BOOK = `name: svc.burst
kind: svc
action: burst
steps:
  - name: burst
    kind: shell
    run: "seq 1 50000; echo end of burst"
  - name: hose
    kind: shell
    run: "head -c 8000000 /dev/zero | tr '\\\\0' x; echo; echo end of hose"
`;

const liveOutput = (events: EventRow[], step: string) =>
  events
    .filter((e) => e.type === 'output' && e.payload.step_name === step)
    .map((e) => String(e.payload.data?.chunk ?? ''))
    .join('');

describe('live output', () => {
  let cluster: QuireCluster;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 1), 'svc.burst.book.yaml': BOOK } });
    await cluster.serve();
    await cluster.worker('w1');
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('sends a burst of several hundred KB in output events, whole and in order', async () => {
    const jobId = await cluster.trigger('d1', 'burst');
    expect((await cluster.finished(jobId)).state).toBe('done');
    const expected = `${Array.from({ length: 50000 }, (_, i) => i + 1).join('\n')}\nend of burst\n`;
    expect(expected.length).toBeGreaterThan(4 * 64 * 1024);
    const events = await cluster.events(jobId);
    const live = liveOutput(events, 'burst');
    // Compared by length and ends first: a failure then says what is missing, not 290 KB of text.
    expect({ length: live.length, head: live.slice(0, 20), tail: live.slice(-30) }).toEqual({
      length: expected.length,
      head: expected.slice(0, 20),
      tail: expected.slice(-30),
    });
    expect(live === expected).toBe(true);

    // Printing far faster than anyone reads: live output is bounded and says what it left out;
    // the stored output still counts every byte.
    const hose = liveOutput(events, 'hose');
    const step = (await cluster.step(jobId, 'hose')) as unknown as { output_bytes: string; date_started: Date; date_finished: Date };
    const seconds = (step.date_finished.getTime() - step.date_started.getTime()) / 1000;
    // the runner's bounds: a 1 MB burst, then 256 KB a second; over by up to one chunk (each up
    // to 64 KB plus a pipe read) where the allowance runs out, and by the last one, always sent
    // with the 64 KB before it
    const bound = 1024 * 1024 + 256 * 1024 * seconds + 3 * 128 * 1024;
    expect({
      within: hose.length <= bound || `${hose.length} > ${bound} (${seconds} s)`,
      marked: /… \[\d+ bytes not shown live; the stored output keeps its head and tail\] …/.test(hose),
      end: hose.slice(-14),
      stored: Number(step.output_bytes),
    }).toEqual({ within: true, marked: 8_000_000 > bound, end: 'x\nend of hose\n', stored: 8_000_000 + 1 + 'end of hose\n'.length });
  });
});
