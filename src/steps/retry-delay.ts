// When a retryable attempt may run again, and after how long (BOOKS.md section 4, `retry`).
import type { RetryPolicy } from '../jobs/job-step.entity.js';
import type { StepResult } from './step-executor.js';

/**
 * Seconds to wait after attempt `attempt` (1-based) failed.
 *
 * `exponential`: delay × 2^(attempt-1), capped at max_delay, with "equal jitter": half of it
 * fixed and half random. The fixed half keeps a retry from firing at once (full jitter can pick
 * ~0 and hammer a service that just said it is overloaded); the random half spreads the steps
 * of many jobs that failed together against one service, so they do not retry in lockstep.
 * `fixed`: always `delay`, no jitter, as authors who choose it expect.
 */
export function retryDelaySeconds(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  if (policy.backoff === 'fixed') return policy.delay_s;
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const capped = Math.min(policy.max_delay_s, policy.delay_s * 2 ** exponent);
  return capped / 2 + (random() * capped) / 2;
}

/**
 * Whether the attempt `attempt` (1-based) that ended with `result` may be followed by another.
 * Retryable: a `retry` outcome, and a timeout when the policy has `retry_on_timeout`. A cancel
 * never retries; lease loss and shutdown are not the step's failure, so they are not retries
 * either (the job is picked up again at the same attempt by whoever owns it next).
 */
export function shouldRetry(result: StepResult, attempt: number, policy: RetryPolicy): boolean {
  const retryable = result.outcome === 'retry' || (result.outcome === 'aborted' && result.reason === 'timeout' && policy.retry_on_timeout);
  return retryable && attempt < policy.max_attempts;
}

/** The delay before the next attempt: the step's own (Retry-After, RetryableStepError) wins. */
export function nextRetryDelaySeconds(
  result: StepResult,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  if (result.outcome === 'retry' && result.delaySeconds !== undefined) return result.delaySeconds;
  return retryDelaySeconds(policy, attempt, random);
}
