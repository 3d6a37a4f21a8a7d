// `kind: handler` (BOOKS.md section 4): call a registered TypeScript function in-process.
// Its result is classified by the error's class (STYLE.md habit 7), never by its message.
import type { HandlerContext, HandlerRegistry } from '../handler-registry.js';
import { abortedResult, type StepExecutor, type StepResult, type StepRun } from '../step-executor.js';
import { FailedStepError, RetryableStepError } from '../step-errors.js';

const ABORTED = Symbol('aborted');

export class HandlerStepExecutor implements StepExecutor {
  readonly kind = 'handler' as const;

  constructor(private readonly handlers: HandlerRegistry) {}

  async execute(run: StepRun): Promise<StepResult> {
    const name = run.rendered.handler;
    const handler = name === undefined ? undefined : this.handlers.handler(name);
    if (!handler) return { outcome: 'failed', message: name === undefined ? 'no `handler` named' : `handler '${name}' is not registered` };
    if (run.signal.aborted) return abortedResult(run.signal);

    const ctx: HandlerContext = {
      job: run.handlerContext?.job ?? { id: run.jobId, action: '', triggered_by: '' },
      deployment: run.handlerContext?.deployment ?? null,
      step: { name: run.stepName, data: run.data },
      rendered: run.rendered as unknown as Record<string, unknown>,
      log: (line) => run.output(`${line}\n`),
      signal: run.signal,
    };

    // A handler that ignores its signal cannot be stopped in-process; the step still ends at
    // once on abort so the runner can release it, and whatever the handler returns later is
    // dropped.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<typeof ABORTED>((resolve) => {
      onAbort = () => resolve(ABORTED);
      run.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const value = await Promise.race([Promise.resolve().then(() => handler(ctx)), aborted]);
      if (value === ABORTED) return abortedResult(run.signal);
      return toOutputs(name as string, value);
    } catch (err) {
      if (run.signal.aborted) return abortedResult(run.signal);
      if (err instanceof RetryableStepError) {
        return err.delaySeconds === undefined
          ? { outcome: 'retry', message: err.message }
          : { outcome: 'retry', message: err.message, delaySeconds: err.delaySeconds };
      }
      if (err instanceof FailedStepError) return { outcome: 'failed', message: err.message };
      const error = err instanceof Error ? err : new Error(String(err));
      // the step's output is "the logs" the message points to
      run.output(`${error.stack ?? error.message}\n`);
      return { outcome: 'failed', message: `Unknown error, see logs: ${error.message}`, ...(error.stack ? { trace: error.stack } : {}) };
    } finally {
      if (onAbort) run.signal.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * Outputs must be a plain object that survives JSON (they are stored as jsonb and read by
 * later steps' templates): a round trip drops functions and undefined, and fails on cycles
 * and BigInt here, with the handler's name, rather than in the runner's database write.
 */
function toOutputs(name: string, value: unknown): StepResult {
  if (value === undefined || value === null) return { outcome: 'done', outputs: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      outcome: 'failed',
      message: `handler '${name}' returned ${Array.isArray(value) ? 'an array' : typeof value}; return an object or nothing`,
    };
  }
  try {
    return { outcome: 'done', outputs: JSON.parse(JSON.stringify(value)) as Record<string, unknown> };
  } catch (err) {
    return { outcome: 'failed', message: `handler '${name}' returned an output that is not JSON: ${(err as Error).message}` };
  }
}
