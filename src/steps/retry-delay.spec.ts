import type { RetryPolicy } from '../jobs/job-step.entity.js';
import { nextRetryDelaySeconds, retryDelaySeconds, shouldRetry } from './retry-delay.js';
import type { StepResult } from './step-executor.js';

const policy: RetryPolicy = {
  max_attempts: 3,
  delay_s: 2,
  max_delay_s: 30,
  backoff: 'exponential',
  retry_on_exit_codes: [],
  retry_on_timeout: false,
};

describe('retryDelaySeconds', () => {
  it('doubles per attempt, half fixed and half random (equal jitter)', () => {
    expect(retryDelaySeconds(policy, 1, () => 0)).toBe(1);
    expect(retryDelaySeconds(policy, 1, () => 1)).toBe(2);
    expect(retryDelaySeconds(policy, 2, () => 0.5)).toBe(3);
    expect(retryDelaySeconds(policy, 3, () => 1)).toBe(8);
  });
  it('caps at max_delay, even for absurd attempt numbers', () => {
    expect(retryDelaySeconds(policy, 5, () => 1)).toBe(30);
    expect(retryDelaySeconds(policy, 5000, () => 0)).toBe(15);
  });
  it('uses the delay as is with fixed backoff', () => {
    expect(retryDelaySeconds({ ...policy, backoff: 'fixed' }, 4, () => 0)).toBe(2);
  });
});

describe('shouldRetry', () => {
  const retry: StepResult = { outcome: 'retry', message: 'exit code 75' };
  const timeout: StepResult = { outcome: 'aborted', reason: 'timeout', message: 'timed out' };
  it('retries a retryable outcome while attempts remain', () => {
    expect(shouldRetry(retry, 1, policy)).toBe(true);
    expect(shouldRetry(retry, 2, policy)).toBe(true);
    expect(shouldRetry(retry, 3, policy)).toBe(false);
  });
  it('never retries done, failed or a cancel', () => {
    expect(shouldRetry({ outcome: 'done', outputs: {} }, 1, policy)).toBe(false);
    expect(shouldRetry({ outcome: 'failed', message: 'x' }, 1, policy)).toBe(false);
    expect(shouldRetry({ outcome: 'aborted', reason: 'cancel', message: 'cancelled' }, 1, { ...policy, retry_on_timeout: true })).toBe(
      false,
    );
  });
  it('retries a timeout only with retry_on_timeout', () => {
    expect(shouldRetry(timeout, 1, policy)).toBe(false);
    expect(shouldRetry(timeout, 1, { ...policy, retry_on_timeout: true })).toBe(true);
  });
});

describe('nextRetryDelaySeconds', () => {
  it("prefers the step's own delay (Retry-After, RetryableStepError)", () => {
    expect(nextRetryDelaySeconds({ outcome: 'retry', message: 'HTTP 503', delaySeconds: 120 }, 1, policy)).toBe(120);
    expect(nextRetryDelaySeconds({ outcome: 'retry', message: 'HTTP 503' }, 1, policy, () => 0)).toBe(1);
  });
});
