// What a step's end does to its job (BOOKS.md sections 4 and 6), run by a real worker process:
// retries on listed exit codes, failures and `on_failure`, the deployment's state and
// last_error, timeouts, and manual steps that wait for a person without holding a worker.
import { QuireCluster, inventory, sleep, until, type QuireProcess } from '../support/processes.js';

const m = (name: string) => `{{deployment.vars.markers}}/{{job.id}}.${name}`;

const BOOKS: Record<string, string> = {
  'svc.flaky.book.yaml': `name: svc.flaky
kind: svc
action: flaky
steps:
  - name: flaky
    kind: shell
    retry: { max_attempts: 3, delay: 1s, backoff: fixed, retry_on_exit_codes: [75] }
    run: "echo x >> ${m('flaky')}; test $(wc -l < ${m('flaky')}) -ge 3 || exit 75"
`,
  'svc.deploy.book.yaml': `name: svc.deploy
kind: svc
action: deploy
sets_state: deployed
steps:
  - name: only
    kind: shell
    run: "echo x >> ${m('deploy')}"
`,
  'svc.break.book.yaml': `name: svc.break
kind: svc
action: break
sets_state: broken
steps:
  - name: first
    kind: shell
    run: "echo x >> ${m('first')}"
  - name: bad
    kind: shell
    retry: { max_attempts: 3, retry_on_exit_codes: [75] }
    run: "echo x >> ${m('bad')}; echo disk full >&2; exit 3"
  - name: later
    kind: shell
    run: "echo x >> ${m('later')}"
`,
  'svc.cont.book.yaml': `name: svc.cont
kind: svc
action: cont
unique: none
steps:
  - name: bad
    kind: shell
    on_failure: continue
    run: "exit 1"
  - name: later
    kind: shell
    run: "echo x >> ${m('later')}"
`,
  'svc.ign.book.yaml': `name: svc.ign
kind: svc
action: ign
unique: none
steps:
  - name: bad
    kind: shell
    on_failure: ignore
    run: "exit 1"
  - name: later
    kind: shell
    run: "echo x >> ${m('later')}"
`,
  'svc.slow.book.yaml': `name: svc.slow
kind: svc
action: slow
steps:
  - name: slow
    kind: shell
    estimated_duration: 1
    estimated_duration_over_stop: 2
    run: "echo x >> ${m('slow')}; sleep 10"
`,
  'svc.approve.book.yaml': `name: svc.approve
kind: svc
action: approve
unique: none
steps:
  - name: prep
    kind: shell
    run: "echo x >> ${m('prep')}"
  - name: approve
    kind: manual
    instructions: "Check {{deployment.name}} by hand"
    estimated_duration: 1h
  - name: finish
    kind: shell
    run: "echo x >> ${m('finish')}"
`,
  'svc.quick.book.yaml': `name: svc.quick
kind: svc
action: quick
unique: none
steps:
  - name: only
    kind: shell
    run: "echo x >> ${m('quick')}"
`,
};

describe('engine: step outcomes', () => {
  let cluster: QuireCluster;
  let worker: QuireProcess;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 8), ...BOOKS } });
    await cluster.serve();
    // One job at a time: a manual step must not hold this only slot while it waits.
    worker = await cluster.worker('outcomes', { QUIRE_WORKER_CONCURRENCY: '1' });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  const deployment = async (name: string) => (await cluster.api('GET', `/api/deployments/${name}`)).body.deployment;

  it('a retryable exit code twice, then success: done at attempt 3 with both failures recorded', async () => {
    const jobId = await cluster.trigger('d1', 'flaky');
    const job = await cluster.finished(jobId, 20_000);
    expect(job.state).toBe('done');
    const step = await cluster.step(jobId, 'flaky');
    expect(step).toMatchObject({ state: 'done', attempt: 3, interruptions: 0, error: null });
    expect(step.errors).toEqual([
      expect.objectContaining({ attempt: 1, exit_code: 75, message: 'exit code 75' }),
      expect.objectContaining({ attempt: 2, exit_code: 75, message: 'exit code 75' }),
    ]);
    expect(cluster.count(`${jobId}.flaky`)).toBe(3);
    const story = (await cluster.events(jobId)).filter((e) => e.type !== 'output').map((e) => `${e.type}:${e.payload.state}`);
    expect(story).toEqual([
      'job:scheduled',
      'job:running',
      'step:running',
      'step:retrying',
      'job:scheduled',
      'job:running',
      'step:running',
      'step:retrying',
      'job:scheduled',
      'job:running',
      'step:running',
      'step:done',
      'job:done',
    ]);
    // backoff `fixed`, 1 s: the attempts are at least a second apart
    const retryGaps = (
      await cluster.db.query(
        `SELECT at FROM deploy_events WHERE job_id = $1 AND type = 'step' AND payload->>'state' = 'running' ORDER BY seq`,
        [jobId],
      )
    ).rows.map((r: { at: Date }) => r.at.getTime());
    expect(retryGaps[1]! - retryGaps[0]!).toBeGreaterThanOrEqual(1000);
    expect(retryGaps[2]! - retryGaps[1]!).toBeGreaterThanOrEqual(1000);
  });

  it('a failure that is not retryable ends the job error, later steps skipped, the deployment keeps its state and records last_error', async () => {
    // d2 becomes `deployed` first, so "unchanged" means something.
    expect((await cluster.finished(await cluster.trigger('d2', 'deploy'))).state).toBe('done');
    expect(await deployment('d2')).toMatchObject({ state: 'deployed', last_error: null });

    const jobId = await cluster.trigger('d2', 'break');
    const job = await cluster.finished(jobId);
    expect(job.state).toBe('error');
    expect(job.error).toBe('step bad failed: exit code 3: disk full');
    const steps = await cluster.steps(jobId);
    expect(steps.map((s) => [s.name, s.state, s.attempt])).toEqual([
      ['first', 'done', 1],
      ['bad', 'error', 1], // exit 3 is not in retry_on_exit_codes: no second attempt
      ['later', 'skipped', 0],
    ]);
    expect(steps[1]!.errors).toEqual([expect.objectContaining({ attempt: 1, exit_code: 3 })]);
    expect([cluster.count(`${jobId}.first`), cluster.count(`${jobId}.bad`), cluster.count(`${jobId}.later`)]).toEqual([1, 1, 0]);
    expect(await deployment('d2')).toMatchObject({ state: 'deployed', last_error: 'break: step bad failed: exit code 3: disk full' });

    // The next success clears it.
    expect((await cluster.finished(await cluster.trigger('d2', 'deploy'))).state).toBe('done');
    expect(await deployment('d2')).toMatchObject({ state: 'deployed', last_error: null });
  });

  it('on_failure continue: later steps run, the job ends error; ignore: later steps run, the job ends done', async () => {
    const cont = await cluster.trigger('d3', 'cont');
    const ign = await cluster.trigger('d4', 'ign');
    const [contJob, ignJob] = [await cluster.finished(cont), await cluster.finished(ign)];

    expect(contJob).toMatchObject({ state: 'error', error: 'step bad failed: exit code 1' });
    expect((await cluster.steps(cont)).map((s) => [s.name, s.state])).toEqual([
      ['bad', 'error'],
      ['later', 'done'],
    ]);
    expect(cluster.count(`${cont}.later`)).toBe(1);

    expect(ignJob).toMatchObject({ state: 'done', error: null });
    expect((await cluster.steps(ign)).map((s) => [s.name, s.state])).toEqual([
      ['bad', 'error'],
      ['later', 'done'],
    ]);
    expect(cluster.count(`${ign}.later`)).toBe(1);
    expect(await deployment('d4')).toMatchObject({ last_error: null });
  });

  it('a timeout (estimate 1 s × 2) kills `sleep 10` after about 2 s', async () => {
    const jobId = await cluster.trigger('d5', 'slow');
    await until('the slow step to start', async () => (await cluster.step(jobId, 'slow')).state === 'running');
    const job = await cluster.finished(jobId, 8000);
    expect(job.state).toBe('error');
    const step = await cluster.step(jobId, 'slow');
    expect(step).toMatchObject({ state: 'error', attempt: 1, error: 'timed out after 2 s' });
    const took = step.date_finished!.getTime() - step.date_started!.getTime();
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(3500);
  });

  it('a manual step waits holding no lease and no worker slot; ack continues it to done', async () => {
    const jobId = await cluster.trigger('d6', 'approve');
    await until('the manual step to wait', async () => (await cluster.step(jobId, 'approve')).state === 'waiting');
    const waiting = await cluster.job(jobId);
    expect(waiting).toMatchObject({ state: 'running', lease_token: null, locked_by: null });
    expect((await cluster.step(jobId, 'approve')).date_started).not.toBeNull();

    // The worker runs one job at a time: another job finishing now proves the slot is free.
    const other = await cluster.trigger('d7', 'quick');
    expect((await cluster.finished(other, 10_000)).state).toBe('done');
    await sleep(1500); // longer than a lease: nothing rescues a job that waits for a person
    expect((await cluster.job(jobId)).state).toBe('running');
    expect(cluster.count(`${jobId}.finish`)).toBe(0);

    const ack = await cluster.api('POST', `/api/jobs/${jobId}/steps/approve/ack`, { note: 'looked fine' });
    expect(ack.status).toBe(200);
    const job = await cluster.finished(jobId);
    expect(job.state).toBe('done');
    const steps = await cluster.steps(jobId);
    expect(steps.map((s) => [s.name, s.state])).toEqual([
      ['prep', 'done'],
      ['approve', 'done'],
      ['finish', 'done'],
    ]);
    expect((steps[1] as any).resolution).toMatchObject({ outcome: 'ack', note: 'looked fine' });
    // The ack's events carry the progress it made, like the worker's.
    const acked = (await cluster.events(jobId)).filter((e) => (e.payload.data as any)?.resolution || (e.type === 'job' && e.payload.state === 'scheduled'));
    expect(acked.map((e) => [e.type, e.payload.state, e.payload.progress?.done_steps])).toEqual([
      ['job', 'scheduled', 0],
      ['step', 'done', 2],
      ['job', 'scheduled', 2],
    ]);
    const { told, stored } = await cluster.told(jobId);
    expect(told).toEqual(stored);
    expect([cluster.count(`${jobId}.prep`), cluster.count(`${jobId}.finish`)]).toEqual([1, 1]);
    expect(worker.alive).toBe(true);
  });

  it('a rejected manual step ends the job error, later steps skipped', async () => {
    const jobId = await cluster.trigger('d8', 'approve');
    await until('the manual step to wait', async () => (await cluster.step(jobId, 'approve')).state === 'waiting');
    const reject = await cluster.api('POST', `/api/jobs/${jobId}/steps/approve/reject`, { note: 'not today' });
    expect(reject.status).toBe(200);
    const job = await cluster.finished(jobId);
    expect(job.state).toBe('error');
    expect(job.error).toContain('not today');
    expect((await cluster.steps(jobId)).map((s) => [s.name, s.state])).toEqual([
      ['prep', 'done'],
      ['approve', 'error'],
      ['finish', 'skipped'],
    ]);
    expect(cluster.count(`${jobId}.finish`)).toBe(0);
    // A second answer is refused: the step no longer waits.
    expect((await cluster.api('POST', `/api/jobs/${jobId}/steps/approve/ack`)).status).toBe(409);
    const { told, stored } = await cluster.told(jobId);
    expect(told).toEqual(stored);
  });

  it('cancelling a job whose manual step waits ends it at once, every change an event with progress', async () => {
    const jobId = await cluster.trigger('d8', 'approve');
    await until('the manual step to wait', async () => (await cluster.step(jobId, 'approve')).state === 'waiting');
    const cancel = await cluster.api('POST', `/api/jobs/${jobId}/cancel`);
    expect(cancel.status).toBe(200); // no worker held it: it ended at once
    expect((await cluster.job(jobId)).state).toBe('cancel');
    const story = (await cluster.events(jobId)).filter((e) => e.type !== 'output').map((e) => `${e.type}:${e.payload.step_name ?? ''}:${e.payload.state}`);
    expect(story.slice(-3)).toEqual(['step:approve:cancel', 'step:finish:skipped', 'job::cancel']);
    const { told, stored } = await cluster.told(jobId);
    expect(told).toEqual(stored);
  });
});
