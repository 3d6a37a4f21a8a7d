// A validate flood cannot make a running deployment fail over (issue 8 item 2): eight concurrent
// POST /api/books/validate of a ~1 MB, 14,500-step book, sent by a viewer to the node that also
// runs a job (any token may validate: the admin token here), kept its event loop busy for 16 s, the job's lease went unrenewed and its step ran
// a second time. Now validation runs off the main thread and is limited; the lease holds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuireCluster, inventory, until } from '../support/processes.js';

/** Room for a slow, loaded box; jest's timeout sits above their sum. */
const STEP_START_DEADLINE_MS = 60_000;
const FLOOD_DEADLINE_MS = 180_000;
const JOB_END_DEADLINE_MS = 60_000;

const HOLD = `name: svc.hold
kind: svc
action: hold
steps:
  - name: hold
    kind: shell
    run: "echo x >> {{deployment.vars.markers}}/{{job.id}}.runs; while [ ! -e {{deployment.vars.markers}}/release ]; do sleep 0.1; done"
`;

/** A valid book of `steps` templated shell steps: 14,500 of them make 1,036,329 bytes, under the 1 MiB file limit. */
function hugeBook(steps: number): string {
  const lines = ['name: flood.huge', 'kind: flood', 'action: huge', 'steps:'];
  for (let i = 0; i < steps; i++) lines.push(`  - { name: s${i}, kind: shell, run: "echo {{deployment.name}} ${i}" }`);
  return `${lines.join('\n')}\n`;
}

describe('engine: a validate flood while a step runs', () => {
  let cluster: QuireCluster;

  beforeAll(async () => {
    // The test defaults: a 3 s lease renewed every second, as in the report (15 s there).
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 1), 'svc.hold.book.yaml': HOLD } });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('keeps the running job\'s lease: no second attempt, and /health answers', async () => {
    const serve = await cluster.serve({ engine: true });
    const jobId = await cluster.trigger('d1', 'hold');
    await until('the step to start', () => cluster.count(`${jobId}.runs`) === 1, STEP_START_DEADLINE_MS);

    const book = hugeBook(14_500);
    expect(book.length).toBeGreaterThan(1_000_000);
    const post = async () => {
      const response = await fetch(`${cluster.url}/api/books/validate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/yaml' },
        body: book,
      });
      await response.text();
      return response.status;
    };
    let flooding = true;
    const flood = Promise.all(Array.from({ length: 8 }, post)).finally(() => (flooding = false));
    // /health, asked over and over while the flood runs: it must answer.
    const health: number[] = [];
    const probing = (async () => {
      while (flooding) {
        health.push((await fetch(`${cluster.url}/health`)).status);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await until('the 8 validations to be answered', () => !flooding, FLOOD_DEADLINE_MS, 250);
    const statuses = await flood;
    await probing;
    console.log(`validate flood answered ${JSON.stringify(statuses)}; /health answered ${health.length} times during it`);
    // Each answered: a verdict (200 valid, 422 invalid: too many steps) or a refusal for now (429).
    for (const status of statuses) expect([200, 422, 429]).toContain(status);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((s) => s === 200)).toBe(true);

    writeFileSync(join(cluster.markers, 'release'), '');
    expect((await cluster.finished(jobId, JOB_END_DEADLINE_MS)).state).toBe('done');
    const [step] = await cluster.steps(jobId);
    // The lease was never lost: the step ran once, uninterrupted.
    expect({ attempt: step!.attempt, interruptions: step!.interruptions, runs: cluster.count(`${jobId}.runs`) }).toEqual({
      attempt: 1,
      interruptions: 0,
      runs: 1,
    });
    expect(serve.output()).not.toMatch(/lease not renewed|lease lost/);
  }, STEP_START_DEADLINE_MS + FLOOD_DEADLINE_MS + JOB_END_DEADLINE_MS + 60_000);
});
