// When a failed delivery is tried again, and whether at all (DESIGN.md "Interfaces": first retry
// within 10 s, then longer, giving up after 24 h). Pure, with its spec beside it.

/** How long deliveries are retried, counted from the job's end. */
export const GIVE_UP_AFTER_S = 24 * 3600;
const FIRST_DELAY_S = 5;
const MAX_DELAY_S = 3600;

/**
 * Seconds before the next attempt after `attempts` failed ones: 5, 10, 20, 40 s ... doubling up
 * to an hour, each shortened by up to a fifth at random so deliveries that failed together (a
 * receiver down) do not all come back in the same second.
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** Math.max(0, attempts - 1));
  return base * (1 - 0.2 * random());
}

/** A failed attempt: `retry` for what may pass (network, 429, 5xx, SMTP 4xx), else given up at once. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** A webhook's HTTP status: 2xx delivered; 408, 429 and 5xx may pass; any other 4xx will not. */
export function webhookStatus(status: number): 'sent' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'sent';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** What to do after a failed attempt: give up when it was final or the 24 hours have passed. */
export function afterFailure(error: DeliveryError, ageSeconds: number, attempts: number): { state: 'pending' | 'failed'; delaySeconds: number } {
  const delaySeconds = retryDelaySeconds(attempts);
  if (!error.retry || ageSeconds + delaySeconds > GIVE_UP_AFTER_S) return { state: 'failed', delaySeconds: 0 };
  return { state: 'pending', delaySeconds };
}
