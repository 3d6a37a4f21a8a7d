// A request whose connection failed (reset, "other side closed", refused during a restart) may or
// may not have reached the server. Sending it again is safe only when a repeat cannot do the work
// twice: reads, and writes that carry an Idempotency-Key (the server answers a repeated trigger
// with the first one's job). Anything else fails with the network error, for a person to decide.
// HTTP answers are never retried here: a 4xx or 5xx is the server's word.

/** Waits before the 2nd and 3rd attempts: enough for a server restarting behind a load balancer. */
export const RETRY_DELAYS_MS: readonly number[] = [250, 1000];

export function isRetrySafe(method: string, headers: Record<string, string>): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())) return true;
  return Object.entries(headers).some(([name, value]) => name.toLowerCase() === 'idempotency-key' && value !== '');
}

/** fetch(), sent again after a network error when isRetrySafe() says so. */
export async function fetchRetryingWhenSafe(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  { delays = RETRY_DELAYS_MS, fetchFn = fetch }: { delays?: readonly number[]; fetchFn?: typeof fetch } = {},
): Promise<Response> {
  const safe = isRetrySafe(init.method, init.headers);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchFn(url, init);
    } catch (error) {
      const delay = delays[attempt];
      if (!safe || delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
