import { STEP_KINDS } from '../books/book.types.js';
import { registerBuiltinExecutors } from './builtin-executors.js';
import { HandlerRegistry } from './handler-registry.js';
import {
  abortReasonOf,
  abortedResult,
  StepAbort,
  StepExecutorError,
  StepExecutorErrorCode,
  StepExecutorRegistry,
  type StepExecutor,
} from './step-executor.js';

const fake = (kind: StepExecutor['kind']): StepExecutor => ({ kind, execute: async () => ({ outcome: 'done', outputs: {} }) });

describe('StepExecutorRegistry', () => {
  it('returns the executor registered for a kind', () => {
    const shell = fake('shell');
    expect(new StepExecutorRegistry().register(shell).get('shell')).toBe(shell);
  });
  it('refuses a second executor for a kind', () => {
    const registry = new StepExecutorRegistry().register(fake('http'));
    expect(() => registry.register(fake('http'))).toThrow("step kind 'http' has two executors");
  });
  it('names the kind when it has no executor', () => {
    const error = (() => {
      try {
        new StepExecutorRegistry().get('manual');
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(StepExecutorError);
    expect((error as StepExecutorError).code).toBe(StepExecutorErrorCode.MissingKind);
    expect((error as Error).message).toContain("'manual'");
  });
  it('assertComplete names every missing kind', () => {
    const registry = registerBuiltinExecutors(new StepExecutorRegistry(), new HandlerRegistry());
    expect(() => registry.assertComplete(['shell', 'http', 'wait', 'handler'])).not.toThrow();
    expect(() => registry.assertComplete(STEP_KINDS)).toThrow("no executor registered for step kinds 'trigger', 'manual'");
  });
});

describe('abort reasons', () => {
  it('reads the StepAbort the runner passed', () => {
    const controller = new AbortController();
    controller.abort(new StepAbort('lease-lost'));
    expect(abortReasonOf(controller.signal)).toBe('lease-lost');
    expect(abortedResult(controller.signal)).toEqual({
      outcome: 'aborted',
      reason: 'lease-lost',
      message: expect.stringContaining('lease lost'),
    });
  });
  it('treats a bare abort as a cancel', () => {
    const controller = new AbortController();
    controller.abort();
    expect(abortReasonOf(controller.signal)).toBe('cancel');
  });
});
