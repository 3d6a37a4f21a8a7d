// Pure decisions for http steps and http probes (BOOKS.md section 4, `http`).

/** `expect_status` as authored (a code or a list); absent means any 2xx. */
export function isExpectedStatus(status: number, expect?: number | number[]): boolean {
  if (expect === undefined) return status >= 200 && status <= 299;
  return Array.isArray(expect) ? expect.includes(status) : status === expect;
}

/** Statuses another attempt may cure: request timeout, rate limit, server-side trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Seconds from a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110 10.2.3).
 * Undefined when absent or unreadable, so the backoff policy applies instead.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The URL as printed in output: user:password@ removed. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** A response's media type says JSON: application/json or any `+json` type. */
export function isJsonContentType(contentType: string | null): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

/** A body excerpt for a failure message: whitespace collapsed, at most `max` characters. */
export function bodyExcerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
