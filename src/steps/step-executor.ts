// The contract between the step runner and the step kinds (BOOKS.md section 4): one folder per
// kind, each implementing `StepExecutor.execute`, behind a registry that refuses to start the
// engine when a kind has no executor (STYLE.md habit 6).
//
// Executors never touch the database or the clock's retry bookkeeping: they run one attempt and
// classify it. Templates are already rendered; retry, timeout and storage are the runner's.
import type { BookStep, StepKind } from '../books/book.types.js';
import type { RetryPolicy } from '../jobs/job-step.entity.js';
import type { HandlerContext } from './handler-registry.js';

export interface StepRun {
  jobId: string;
  stepId: string;
  stepName: string;
  /** 1-based */
  attempt: number;
  kind: StepKind;
  /**
   * The step's fields with templates rendered: run/argv/cwd/env (shell), method/url/headers/body/
   * expect_status (http), until/interval/duration (wait; durations still as authored),
   * handler (handler).
   */
  rendered: BookStep;
  /** step.data: the frozen serialize result */
  data: Record<string, unknown>;
  timeoutSeconds: number;
  retry: RetryPolicy;
  /** extra environment (secrets included) for shell steps and shell probes */
  env: Record<string, string>;
  /** this attempt's `::output` token (steps/output/output-marker.ts); a shell step gets it as QUIRE_OUTPUT_TOKEN */
  outputToken: string;
  /** aborted on cancel, on lease loss, or by the runner's timeout; `signal.reason` is a StepAbort */
  signal: AbortSignal;
  /** streamed output: stdout and stderr interleaved, valid UTF-8 text without NUL */
  output(chunk: string): void;
  /** job and deployment for handler steps */
  handlerContext?: Omit<HandlerContext, 'signal' | 'log' | 'rendered'>;
}

export type StepAbortReason = 'cancel' | 'timeout' | 'lease-lost' | 'shutdown';

/** The reason the runner passes to `AbortController.abort()`. */
export class StepAbort extends Error {
  constructor(readonly reason: StepAbortReason) {
    super(ABORT_MESSAGES[reason]);
    this.name = 'StepAbort';
  }
}

const ABORT_MESSAGES: Readonly<Record<StepAbortReason, string>> = {
  cancel: 'cancelled',
  timeout: 'timed out',
  'lease-lost': 'lease lost: another worker may own this step now',
  shutdown: 'worker shutting down',
};

export type StepResult =
  | { outcome: 'done'; outputs: Record<string, unknown> }
  | { outcome: 'retry'; message: string; delaySeconds?: number; exitCode?: number; status?: number; trace?: string }
  | { outcome: 'failed'; message: string; exitCode?: number; status?: number; trace?: string }
  | { outcome: 'aborted'; reason: StepAbortReason; message: string };

export interface StepExecutor {
  readonly kind: StepKind;
  /** Runs one attempt. Resolves with a classification; rejects only on a bug in the executor. */
  execute(run: StepRun): Promise<StepResult>;
}

/**
 * Why the signal was aborted. A signal aborted without a StepAbort (a plain `abort()`) counts
 * as a cancel: the safe reading, since cancel never retries.
 */
export function abortReasonOf(signal: AbortSignal): StepAbortReason {
  const reason: unknown = signal.reason;
  return reason instanceof StepAbort ? reason.reason : 'cancel';
}

export function abortedResult(signal: AbortSignal): StepResult {
  const reason = abortReasonOf(signal);
  return { outcome: 'aborted', reason, message: ABORT_MESSAGES[reason] };
}

export enum StepExecutorErrorCode {
  DuplicateKind = 'DUPLICATE_STEP_KIND',
  MissingKind = 'MISSING_STEP_KIND',
}

/** An engine configuration error, not a step failure: the engine refuses to start on it. */
export class StepExecutorError extends Error {
  constructor(
    readonly code: StepExecutorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StepExecutorError';
  }
}

export class StepExecutorRegistry {
  private readonly executors = new Map<StepKind, StepExecutor>();

  register(executor: StepExecutor): this {
    if (this.executors.has(executor.kind)) {
      throw new StepExecutorError(StepExecutorErrorCode.DuplicateKind, `step kind '${executor.kind}' has two executors`);
    }
    this.executors.set(executor.kind, executor);
    return this;
  }

  get(kind: StepKind): StepExecutor {
    const executor = this.executors.get(kind);
    if (!executor) throw new StepExecutorError(StepExecutorErrorCode.MissingKind, `no executor registered for step kind '${kind}'`);
    return executor;
  }

  kinds(): ReadonlySet<StepKind> {
    return new Set(this.executors.keys());
  }

  /** Throws naming every kind in `kinds` that has no executor; called once at start-up. */
  assertComplete(kinds: Iterable<StepKind>): void {
    const missing = [...new Set(kinds)].filter((kind) => !this.executors.has(kind));
    if (missing.length > 0) {
      throw new StepExecutorError(
        StepExecutorErrorCode.MissingKind,
        `no executor registered for step kind${missing.length > 1 ? 's' : ''} ${missing.map((k) => `'${k}'`).join(', ')}`,
      );
    }
  }
}
