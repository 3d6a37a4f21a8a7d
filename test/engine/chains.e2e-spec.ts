// Jobs that make jobs, and steps no worker holds (BOOKS.md sections 3, 4 and 6), on real worker
// processes: a `trigger` step that waits for its child on the same deployment and channel, one
// that does not wait, `on_success` links rendered with the ended job's outputs and delayed, and
// a `manual` step whose timeout passes while it waits for a person.
import { QuireCluster, inventory, until, type JobRow } from '../support/processes.js';

const m = (name: string) => `{{deployment.vars.markers}}/{{job.id}}.${name}`;
const shared = (name: string) => `{{deployment.vars.markers}}/{{deployment.name}}.${name}`;

const BOOKS: Record<string, string> = {
  // Parent and child share the deployment and a channel of capacity 1.
  'c.outer.book.yaml': `name: c.outer
kind: c
action: outer
channel: solo
steps:
  - name: prepare
    kind: shell
    run: "sleep 1; echo outer-prepare >> ${shared('order')}"
  - name: inner
    kind: trigger
    action: inner
    wait: true
    estimated_duration: 5
    estimated_duration_over_stop: 2
  - name: finish
    kind: shell
    run: "echo outer-finish >> ${shared('order')}"
`,
  'c.inner.book.yaml': `name: c.inner
kind: c
action: inner
channel: solo
steps:
  - name: work
    kind: shell
    run: "echo inner >> ${shared('order')}"
`,
  'c.other.book.yaml': `name: c.other
kind: c
action: other
channel: solo
steps:
  - name: work
    kind: shell
    run: "echo other >> ${shared('order')}"
`,
  'c.fire.book.yaml': `name: c.fire
kind: c
action: fire
steps:
  - name: fire
    kind: trigger
    action: other
  - name: after
    kind: shell
    run: "sleep 1; echo fire-after >> ${shared('order')}"
`,
  'c.chain.book.yaml': `name: c.chain
kind: c
action: chain
steps:
  - name: gen
    kind: shell
    run: "echo ::output colour=blue"
on_success:
  - trigger: { action: paint, params: { colour: "{{steps.gen.output.colour}}", by: "{{job.id}}" }, delay: 2s }
`,
  'c.paint.book.yaml': `name: c.paint
kind: c
action: paint
unique: none
params:
  type: object
  required: [colour]
  properties: { colour: { type: string }, by: { type: string } }
steps:
  - name: paint
    kind: shell
    run: "echo {{params.colour}} >> ${shared('paint')}"
`,
  'c.later.book.yaml': `name: c.later
kind: c
action: later
steps:
  - name: only
    kind: shell
    run: "true"
on_success:
  - trigger: { action: paint, params: { colour: red }, delay: 1h }
`,
  'c.quick.book.yaml': `name: c.quick
kind: c
action: quick
steps:
  - name: only
    kind: shell
    run: "echo x >> ${m('quick')}"
`,
  'c.approve.book.yaml': `name: c.approve
kind: c
action: approve
steps:
  - name: approve
    kind: manual
    instructions: "Look at {{deployment.name}}"
    estimated_duration: 1
    estimated_duration_over_stop: 2
  - name: after
    kind: shell
    run: "echo x >> ${m('after')}"
`,
};

describe('engine: chained jobs and unheld steps', () => {
  let cluster: QuireCluster;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('c', 7), ...BOOKS }, env: { QUIRE_CHANNELS: 'default:8,solo:1' } });
    await cluster.serve();
    await cluster.worker('chains');
  });

  afterAll(async () => {
    await cluster?.close();
  });

  const children = async (parent: string): Promise<(JobRow & { params: Record<string, unknown>; run_at: Date; book_name: string })[]> =>
    (await cluster.db.query(`SELECT * FROM jobs WHERE triggered_by = $1 ORDER BY date_created`, [`job:${parent}`])).rows;
  const order = (deployment: string) => cluster.lines(`${deployment}.order`);

  it('a waiting trigger step runs its child first on their shared deployment and full channel; a job queued between them waits', async () => {
    const outer = await cluster.trigger('d1', 'outer');
    await until('the first step to run', async () => (await cluster.step(outer, 'prepare')).state === 'running');
    // Created after the parent but before its child: it queues behind the parent, not the child.
    const other = await cluster.trigger('d1', 'other');
    expect((await cluster.finished(outer, 20_000)).state).toBe('done');
    expect((await cluster.finished(other)).state).toBe('done');
    const [child] = await children(outer);
    expect(child).toMatchObject({ book_name: 'c.inner', state: 'done' });
    expect(order('d1')).toEqual(['outer-prepare', 'inner', 'outer-finish', 'other']);
  });

  it('a trigger step that does not wait: its child queues behind the parent and runs after it', async () => {
    const fire = await cluster.trigger('d2', 'fire');
    expect((await cluster.finished(fire)).state).toBe('done');
    const [child] = await children(fire);
    expect((await cluster.finished(child!.id)).state).toBe('done');
    expect(order('d2')).toEqual(['fire-after', 'other']);
  });

  it('on_success renders its params from the ended job and waits its delay', async () => {
    const chain = await cluster.trigger('d3', 'chain');
    const parent = await cluster.finished(chain);
    expect(parent.state).toBe('done');
    await until('the chained job', async () => (await children(chain)).length === 1);
    const [child] = await children(chain);
    expect(child!.params).toEqual({ colour: 'blue', by: chain });
    expect(new Date(child!.run_at).getTime() - new Date(parent.date_done!).getTime()).toBeGreaterThanOrEqual(1500);
    const done = await cluster.finished(child!.id);
    expect(done.state).toBe('done');
    expect(new Date(done.date_running!).getTime()).toBeGreaterThanOrEqual(new Date(child!.run_at).getTime());
    expect(cluster.lines('d3.paint')).toEqual(['blue']);
  });

  it('links a dead worker owed are triggered by the sweep, and only once', async () => {
    const chain = await cluster.trigger('d6', 'chain');
    expect((await cluster.finished(chain)).state).toBe('done');
    await until('the chained job', async () => (await children(chain)).length === 1);
    const [first] = await children(chain);
    const owed = async () => (await cluster.db.query(`SELECT chain_pending FROM jobs WHERE id = $1`, [chain])).rows[0].chain_pending as boolean;
    // Cleared by its worker just after it made the link's job: waited for, not raced.
    await until('the owed flag to be cleared', async () => !(await owed()));

    // As if its worker had died after the job's end but before it cleared the flag: the sweep
    // triggers the links again, under the same keys, and finds the job they made.
    await cluster.db.query(`UPDATE jobs SET chain_pending = true WHERE id = $1`, [chain]);
    await until('the sweep', async () => !(await owed()), 15_000);
    expect((await children(chain)).map((j) => j.id)).toEqual([first!.id]);

    // As if it had died before the chained job was stored: the sweep makes it.
    await cluster.finished(first!.id);
    await cluster.db.query(`DELETE FROM deploy_events WHERE job_id = $1`, [first!.id]);
    await cluster.db.query(`DELETE FROM jobs WHERE id = $1`, [first!.id]);
    await cluster.db.query(`UPDATE jobs SET chain_pending = true WHERE id = $1`, [chain]);
    await until('the sweep', async () => !(await owed()), 15_000);
    const again = await children(chain);
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(first!.id);
    expect(again[0]!.params).toEqual({ colour: 'blue', by: chain });
  });

  it('a job delayed into the future does not hold its deployment meanwhile', async () => {
    const later = await cluster.trigger('d4', 'later');
    expect((await cluster.finished(later)).state).toBe('done');
    await until('the delayed job', async () => (await children(later)).length === 1);
    const quick = await cluster.trigger('d4', 'quick');
    expect((await cluster.finished(quick, 10_000)).state).toBe('done');
    expect((await children(later))[0]!.state).toBe('scheduled');
  });

  it("a manual step that nobody answers fails when its timeout passes, and the job applies on_failure", async () => {
    const job = await cluster.trigger('d5', 'approve');
    const ended = await cluster.finished(job, 15_000);
    expect(ended.state).toBe('error');
    const steps = await cluster.steps(job);
    expect(steps.map((s) => [s.name, s.state])).toEqual([
      ['approve', 'error'],
      ['after', 'skipped'],
    ]);
    expect(steps[0]!.error).toBe('timed out after 2 s waiting for a person');
    expect(cluster.count(`${job}.after`)).toBe(0);
    const events = await cluster.events(job);
    expect(events.some((e) => e.type === 'step' && e.payload.step_name === 'approve' && e.payload.state === 'error')).toBe(true);
  });
});
