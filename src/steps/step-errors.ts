// What a step reports when it does not succeed. Retryable versus failed is a property of the
// error's class, never a match on its message (STYLE.md habit 7).

/** The attempt failed but another may succeed; `delaySeconds` overrides the backoff. */
export class RetryableStepError extends Error {
  constructor(
    message: string,
    readonly delaySeconds?: number,
  ) {
    super(message);
    this.name = 'RetryableStepError';
  }
}

/** The step failed for good; its message is stored as given. */
export class FailedStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailedStepError';
  }
}
