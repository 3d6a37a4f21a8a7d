// A StepRun for executor specs: collects output, owns its AbortController. No jest here, so it
// compiles with the build like any other file.
import type { BookStep } from '../../books/book.types.js';
import type { RetryPolicy } from '../../jobs/job-step.entity.js';
import { StepAbort, type StepAbortReason, type StepRun } from '../step-executor.js';

export const NO_RETRY: RetryPolicy = {
  max_attempts: 1,
  delay_s: 2,
  max_delay_s: 300,
  backoff: 'exponential',
  retry_on_exit_codes: [],
  retry_on_timeout: false,
};

export interface TestRun extends StepRun {
  controller: AbortController;
  /** everything written to output (unless `output` was overridden) */
  text(): string;
  abort(reason?: StepAbortReason): void;
}

export function testRun(rendered: Omit<BookStep, 'name'> & { name?: string }, overrides: Partial<StepRun> = {}): TestRun {
  const controller = new AbortController();
  const chunks: string[] = [];
  return {
    jobId: 'job-1',
    stepId: 'step-1',
    stepName: rendered.name ?? 'test-step',
    attempt: 1,
    kind: rendered.kind,
    rendered: { name: 'test-step', ...rendered },
    data: {},
    timeoutSeconds: 60,
    retry: NO_RETRY,
    env: {},
    signal: controller.signal,
    output: (chunk) => chunks.push(chunk),
    ...overrides,
    controller,
    text: () => chunks.join(''),
    abort: (reason = 'cancel') => controller.abort(new StepAbort(reason)),
  };
}
