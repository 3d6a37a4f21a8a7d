// A StepRun for executor specs: collects output, owns its AbortController. No jest here, so it
// compiles with the build like any other file.
import type { BookStep } from '../../books/book.types.js';
import type { RetryPolicy } from '../../jobs/job-step.entity.js';
import { StepAbort, type StepAbortReason, type StepRun } from '../step-executor.js';
import { markAuthoredOutputs } from '../output/output-marker.js';

/** The `::output` token of every test run. */
export const TEST_OUTPUT_TOKEN = 'test0output0token';

/** `run` and `argv` as the runner hands them over: the author's `::output ` tokenised. */
function asRendered(step: Omit<BookStep, 'name'> & { name?: string }): BookStep {
  const rendered = { name: 'test-step', ...step } as BookStep;
  if (typeof rendered.run === 'string') rendered.run = markAuthoredOutputs(rendered.run, TEST_OUTPUT_TOKEN);
  if (Array.isArray(rendered.argv)) rendered.argv = rendered.argv.map((arg) => markAuthoredOutputs(arg, TEST_OUTPUT_TOKEN));
  return rendered;
}

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
    rendered: asRendered(rendered),
    data: {},
    timeoutSeconds: 60,
    retry: NO_RETRY,
    env: {},
    outputToken: TEST_OUTPUT_TOKEN,
    signal: controller.signal,
    output: (chunk) => chunks.push(chunk),
    ...overrides,
    controller,
    text: () => chunks.join(''),
    abort: (reason = 'cancel') => controller.abort(new StepAbort(reason)),
  };
}
