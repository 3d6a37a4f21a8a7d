import { HandlerRegistry } from '../handler-registry.js';
import { FailedStepError, RetryableStepError } from '../step-errors.js';
import { testRun } from '../testing/step-run.fixture.js';
import { HandlerStepExecutor } from './handler.step.js';

const registry = new HandlerRegistry()
  .register('ok', ({ step, rendered, job, deployment, log }) => {
    log(`hello from ${step.name}`);
    return { replicas: step.data.replicas, handler: rendered.handler, job: job.id, deployment: deployment?.name ?? null };
  })
  .register('nothing', () => undefined)
  .register('retry', () => {
    throw new RetryableStepError('not ready yet', 30);
  })
  .register('retry-default', async () => {
    throw new RetryableStepError('flaky');
  })
  .register('fail', async () => {
    throw new FailedStepError('verification failed: 2 of 3 replicas down');
  })
  .register('crash', () => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')");
  })
  .register('array', () => [1, 2] as unknown as Record<string, unknown>)
  .register('cyclic', () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  })
  .register('hang', () => new Promise<never>(() => undefined))
  .register('cooperative', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
const handler = new HandlerStepExecutor(registry);

describe('handler step', () => {
  it('calls the handler with step, rendered fields, job, deployment and a logger; its object is the output', async () => {
    const run = testRun(
      { kind: 'handler', name: 'plan', handler: 'ok' },
      {
        data: { replicas: 3 },
        handlerContext: {
          job: { id: 'job-9', action: 'deploy', triggered_by: 'ada' },
          deployment: { id: 'd1', name: 'db-eu', kind: 'postgres', vars: {} },
          step: { name: 'plan', data: {} },
        },
      },
    );
    expect(await handler.execute(run)).toEqual({
      outcome: 'done',
      outputs: { replicas: 3, handler: 'ok', job: 'job-9', deployment: 'db-eu' },
    });
    expect(run.text()).toBe('hello from plan\n');
  });

  it('is done with no outputs when the handler returns nothing', async () => {
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'nothing' }))).toEqual({ outcome: 'done', outputs: {} });
  });

  it('retries on RetryableStepError, with its delay when given', async () => {
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'retry' }))).toEqual({
      outcome: 'retry',
      message: 'not ready yet',
      delaySeconds: 30,
    });
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'retry-default' }))).toEqual({ outcome: 'retry', message: 'flaky' });
  });

  it('fails with the message as given on FailedStepError', async () => {
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'fail' }))).toEqual({
      outcome: 'failed',
      message: 'verification failed: 2 of 3 replicas down',
    });
  });

  it('fails any other exception as unknown, keeping the stack as trace and in the logs', async () => {
    const run = testRun({ kind: 'handler', handler: 'crash' });
    const result = await handler.execute(run);
    expect(result).toEqual({
      outcome: 'failed',
      message: "Unknown error, see logs: Cannot read properties of undefined (reading 'x')",
      trace: expect.stringContaining('TypeError'),
    });
    expect(run.text()).toContain('handler.step.spec.ts');
  });

  it('fails naming a handler that is not registered, and outputs that are not a JSON object', async () => {
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'nope' }))).toEqual({
      outcome: 'failed',
      message: "handler 'nope' is not registered",
    });
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'array' }))).toMatchObject({
      outcome: 'failed',
      message: expect.stringContaining('returned an array'),
    });
    expect(await handler.execute(testRun({ kind: 'handler', handler: 'cyclic' }))).toMatchObject({
      outcome: 'failed',
      message: expect.stringContaining('not JSON'),
    });
  });

  it('is aborted when the signal fires, whether the handler listens or not', async () => {
    for (const name of ['cooperative', 'hang']) {
      const run = testRun({ kind: 'handler', handler: name });
      setTimeout(() => run.abort('lease-lost'), 20);
      expect(await handler.execute(run)).toMatchObject({ outcome: 'aborted', reason: 'lease-lost' });
    }
  });
});
