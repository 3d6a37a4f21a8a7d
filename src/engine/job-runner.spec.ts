// The runner between a step and everything that records it: no secret value may reach the
// store (the database and the events it emits) or the log. The store is a fake that keeps
// every argument it was given, so "nothing leaked" is one search of their JSON.
import { Logger, type LoggerService } from '@nestjs/common';
import type { BookStep } from '../books/book.types.js';
import type { JobEntity } from '../jobs/job.entity.js';
import type { JobStepEntity } from '../jobs/job-step.entity.js';
import { StepExecutorRegistry, type StepResult, type StepRun } from '../steps/step-executor.js';
import { NO_RETRY } from '../steps/testing/step-run.fixture.js';
import { JobRunner, type ChildJobs } from './job-runner.js';
import type { JobStore } from './job-store.js';
import { SecretsProvider } from './secrets.js';

const SECRET = 'hunter2secret';
const FLUSH_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class FakeStore {
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** set to make a method reject, as a failed write would */
  failing: Partial<Record<string, Error>> = {};

  constructor(private readonly jobSteps: JobStepEntity[]) {}

  private record(method: string, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    const error = this.failing[method];
    return error ? Promise.reject(error) : Promise.resolve();
  }

  of(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  steps = async () => this.jobSteps;
  heartbeat = async () => ({ alive: true, cancelRequested: false });
  stepStarted = async (_lease: unknown, _job: unknown, step: JobStepEntity) => {
    await this.record('stepStarted', [step.name]);
    return { ...step, state: 'running', attempt: step.attempt + 1 };
  };
  stepOutput = (...args: unknown[]) => this.record('stepOutput', args.slice(3));
  stepFinished = (...args: unknown[]) => this.record('stepFinished', args.slice(3));
  // A done step's end is kept for the job's next write; recorded here as the write it becomes.
  stepDone = (...args: unknown[]) => void this.calls.push({ method: 'stepFinished', args: args.slice(3) });
  flushStepEnd = () => (this.failing.stepFinished ? Promise.reject(this.failing.stepFinished) : Promise.resolve());
  forget = () => undefined;
  retryLater = (...args: unknown[]) => this.record('retryLater', args.slice(3));
  waitForPerson = (...args: unknown[]) => this.record('waitForPerson', args.slice(3));
  stepSkipped = (...args: unknown[]) => this.record('stepSkipped', args.slice(3));
  stepOverdue = (...args: unknown[]) => this.record('stepOverdue', args.slice(3));
  handBack = (...args: unknown[]) => this.record('handBack', args.slice(3));
  finishJob = (...args: unknown[]) => this.record('finishJob', args.slice(2));
}

const children: ChildJobs = { trigger: async () => 'child-1', state: async () => 'done' };

function jobStep(spec: Partial<BookStep> & Pick<BookStep, 'kind'>): JobStepEntity {
  return {
    id: 'step-1',
    job_id: 'job-1',
    position: 0,
    name: 'leaky',
    kind: spec.kind,
    description: null,
    spec: { name: 'leaky', secrets: ['api_key'], ...spec },
    data: {},
    state: 'pending',
    attempt: 0,
    interruptions: 0,
    retry: NO_RETRY,
    on_failure: 'fail',
    estimated_duration: 30,
    estimate_source: 'book',
    estimate_runs: 0,
    estimate_p90: null,
    estimate_key: '',
    run_chance: 1,
    timeout: 60,
    date_started: null,
    date_finished: null,
    duration: null,
    output: '',
    output_bytes: '0',
    outputs: {},
    error: null,
    errors: [],
    resolution: null,
  };
}

const job = {
  id: 'job-1',
  lease_token: 'lease-1',
  book_name: 'svc.leaky',
  action: 'leak',
  triggered_by: 'token:test',
  deployment_id: 'dep-1',
  context: { deployment: { id: 'dep-1', name: 'd1', kind: 'svc', vars: {} }, params: {} },
  on_success: [],
  on_failure: [],
} as unknown as JobEntity;

/** Runs one job of one step whose shell executor is `execute`; returns what the store was given. */
async function runOne(
  step: JobStepEntity,
  execute: (run: StepRun) => Promise<StepResult>,
  prepare?: (store: FakeStore) => void,
): Promise<FakeStore> {
  const store = new FakeStore([step]);
  prepare?.(store);
  const executors = new StepExecutorRegistry().register({ kind: 'shell', execute });
  const secrets = new SecretsProvider({ QUIRE_SECRET_API_KEY: SECRET });
  const runner = new JobRunner(store as unknown as JobStore, executors, secrets, children, {
    leaseSeconds: 30,
    heartbeatSeconds: 10,
    outputFlushMs: FLUSH_MS,
  });
  await runner.run(job, { drain: new AbortController().signal, shutdown: new AbortController().signal });
  return store;
}

const leaks = (store: FakeStore) => JSON.stringify(store.calls).includes(SECRET);

describe('JobRunner keeps secrets out of what it records', () => {
  it('masks every string of a step’s outputs before they are stored', async () => {
    const store = await runOne(jobStep({ kind: 'shell', run: 'x' }), async () => ({
      outcome: 'done',
      outputs: { token: SECRET, body: { items: [`Bearer ${SECRET}`], [SECRET]: 1 }, status: 200 },
    }));
    expect(store.of('stepFinished')).toEqual([
      [expect.objectContaining({ state: 'done', outputs: { token: '***', body: { items: ['Bearer ***'], '***': 1 }, status: 200 } })],
    ]);
    expect(leaks(store)).toBe(false);
  });

  it('masks the message and the trace of a failed attempt, and the job’s error', async () => {
    const store = await runOne(jobStep({ kind: 'shell', run: 'x' }), async () => ({
      outcome: 'failed',
      message: `exit code 1: token ${SECRET}`,
      trace: `Error: ${SECRET}\n    at handler`,
    }));
    const [[outcome]] = store.of('stepFinished') as [[{ error: { message: string; trace: string } }]];
    expect(outcome.error).toMatchObject({ message: 'exit code 1: token ***', trace: 'Error: ***\n    at handler' });
    expect(store.of('finishJob')).toEqual([['error', 'step leaky failed: exit code 1: token ***']]);
    expect(leaks(store)).toBe(false);
  });

  it('masks a retryable attempt’s message', async () => {
    const step = jobStep({ kind: 'shell', run: 'x' });
    step.retry = { ...NO_RETRY, max_attempts: 2 };
    const store = await runOne(step, async () => ({ outcome: 'retry', message: `HTTP 503: ${SECRET}`, trace: SECRET }));
    expect(store.of('retryLater')).toEqual([
      [expect.any(Number), expect.objectContaining({ message: 'HTTP 503: ***', trace: '***' }), expect.anything()],
    ]);
    expect(leaks(store)).toBe(false);
  });

  it('holds back the start of a secret across output ticks, and sends the rest when the step ends', async () => {
    const store = await runOne(jobStep({ kind: 'shell', run: 'x' }), async (run) => {
      run.output('starting the step\ntoken=hunter2');
      await sleep(FLUSH_MS * 5); // several ticks pass with the secret cut in two
      run.output('secret and more\n');
      return { outcome: 'done', outputs: {} };
    });
    // the last chunk comes with the step's end
    const chunks = [...store.of('stepOutput').map(([, , chunk]) => chunk as string), ...store.of('stepFinished').map(([o]) => (o as { chunk?: string }).chunk ?? '')];
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks[0]).toMatch(/^starting/); // a tick sends what can no longer be part of a secret
    expect(chunks.join('')).toBe('starting the step\ntoken=*** and more\n');
    expect(store.of('stepFinished')).toEqual([[expect.objectContaining({ output: 'starting the step\ntoken=*** and more\n' })]]);
    expect(leaks(store)).toBe(false);
  });

  it('masks a manual step’s instructions, should a book reach the runner with a secret in them', async () => {
    const store = await runOne(jobStep({ kind: 'manual', instructions: 'log in with {{secrets.api_key}}' }), async () => {
      throw new Error('a manual step runs no executor');
    });
    expect(store.of('waitForPerson')).toEqual([['log in with ***']]);
    expect(leaks(store)).toBe(false);
  });
});

describe('JobRunner keeps secrets out of its log', () => {
  const lines: string[] = [];
  const recorder: LoggerService = {
    log: (m: unknown) => lines.push(String(m)),
    warn: (m: unknown) => lines.push(String(m)),
    error: (m: unknown) => lines.push(String(m)),
  };
  // each spec file has its own module registry: the override ends with this file
  beforeAll(() => Logger.overrideLogger(recorder));

  it('masks an error from a failed write, which may quote what was written', async () => {
    lines.length = 0;
    await runOne(
      jobStep({ kind: 'shell', run: 'x' }),
      async (run) => {
        // longer than the secret, so the masker releases its start on a tick and a write of its own
        // fails; the step's end, which brings its last chunk, fails too
        run.output('some output, longer than any secret it could hide\n');
        await sleep(FLUSH_MS * 5);
        return { outcome: 'done', outputs: {} };
      },
      (store) => {
        store.failing.stepOutput = new Error(`invalid input: "${SECRET}"`);
        store.failing.stepFinished = new Error(`invalid input: "${SECRET}"`);
      },
    );
    expect(lines.filter((l) => l.includes('invalid input: "***"')).length).toBeGreaterThanOrEqual(2);
    expect(lines.join('\n')).not.toContain(SECRET);
  });
});
