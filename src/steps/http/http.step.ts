// `kind: http` (BOOKS.md section 4): one request, classified by its outcome. Connection errors,
// 408, 429 and 5xx may succeed on another attempt; any other unexpected status will not.
import { StringDecoder } from 'node:string_decoder';
import { withoutNul } from '../output/safe-text-decoder.js';
import { abortedResult, type StepExecutor, type StepResult, type StepRun } from '../step-executor.js';
import { bodyExcerpt, displayUrl, isExpectedStatus, isJsonContentType, isRetryableStatus, parseRetryAfter } from './http-status.js';

/** A JSON body becomes the step's output: allow a generous document, but not without bound. */
export const MAX_JSON_BODY = 1024 * 1024;
/** Any other body is kept as text up to this size. */
export const MAX_TEXT_BODY = 64 * 1024;

export interface HttpRequestSpec {
  method: string;
  url?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export class HttpStepExecutor implements StepExecutor {
  readonly kind = 'http' as const;

  async execute(run: StepRun): Promise<StepResult> {
    const { rendered, signal } = run;
    const method = (rendered.method ?? 'GET').toUpperCase();
    const label = `${method} ${displayUrl(rendered.url ?? '')}`;
    const request = buildRequest({ method, url: rendered.url, headers: rendered.headers, body: rendered.body }, signal);
    if (typeof request === 'string') {
      run.output(`${label} → ${request}\n`);
      return { outcome: 'failed', message: request };
    }

    let response: Response;
    try {
      response = await fetch(request);
    } catch (err) {
      if (signal.aborted) return abortedResult(signal);
      const message = `connection error: ${describeFetchError(err)}`;
      run.output(`${label} → ${message}\n`);
      return { outcome: 'retry', message };
    }
    const { status } = response;
    run.output(`${label} → ${status}\n`);

    const expected = isExpectedStatus(status, rendered.expect_status);
    const json = isJsonContentType(response.headers.get('content-type'));
    let body: { text: string; truncated: boolean };
    try {
      body = await readBody(response, expected && json ? MAX_JSON_BODY : MAX_TEXT_BODY);
    } catch (err) {
      if (signal.aborted) return abortedResult(signal);
      return { outcome: 'retry', message: `connection error while reading the response: ${describeFetchError(err)}`, status };
    }

    if (expected) {
      if (body.truncated) run.output(`response body truncated to ${MAX_TEXT_BODY} bytes\n`);
      return { outcome: 'done', outputs: { status, body: outputBody(body, json) } };
    }
    const excerpt = bodyExcerpt(body.text);
    const message = excerpt === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}`;
    if (!isRetryableStatus(status)) return { outcome: 'failed', message, status };
    // Retry-After is defined for 503 and 429 (RFC 9110, RFC 6585); elsewhere it is ignored
    const delaySeconds = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
    return delaySeconds === undefined ? { outcome: 'retry', message, status } : { outcome: 'retry', message, status, delaySeconds };
  }
}

/**
 * A Request, or a message saying why none can be made. Problems found here are the book's
 * (a bad URL, a body on GET), so they fail the step instead of being retried as network errors.
 */
export function buildRequest(spec: HttpRequestSpec, signal: AbortSignal): Request | string {
  if (!spec.url) return 'no `url` to request';
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    return `invalid URL '${displayUrl(spec.url)}'`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported URL scheme '${url.protocol}': use http or https`;

  const headers = new Headers();
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    try {
      headers.set(name, value);
    } catch {
      // the runtime's message quotes the value, which may be a token
      return `invalid header '${name}'`;
    }
  }
  if (url.username !== '' || url.password !== '') {
    // fetch refuses credentials in a URL; send them the way curl does, as Basic auth
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    if (!headers.has('authorization')) headers.set('authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`);
    url.username = '';
    url.password = '';
  }
  let body: string | undefined;
  if (typeof spec.body === 'string') body = spec.body;
  else if (spec.body !== undefined && spec.body !== null) {
    body = JSON.stringify(spec.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  if (body !== undefined && (spec.method === 'GET' || spec.method === 'HEAD')) return `a ${spec.method} request cannot have a body`;
  try {
    return new Request(url, { method: spec.method, headers, body, signal });
  } catch (err) {
    return `invalid request: ${(err as Error).message}`;
  }
}

/** Reads at most `maxBytes` of the body, as text that ends on a whole character. */
export async function readBody(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  const bytes = Buffer.concat(parts).subarray(0, maxBytes);
  const decoder = new StringDecoder('utf8');
  // when truncated, a character cut at the limit is dropped instead of becoming U+FFFD
  const text = decoder.write(bytes) + (truncated ? '' : decoder.end());
  return { text: withoutNul(text), truncated };
}

/** The JSON value when the response is JSON and whole, else its text (at most MAX_TEXT_BODY). */
function outputBody(body: { text: string; truncated: boolean }, json: boolean): unknown {
  if (json && !body.truncated) {
    try {
      // PostgreSQL jsonb refuses \u0000 inside strings
      return JSON.parse(body.text, (_key, value: unknown) => (typeof value === 'string' ? withoutNul(value) : value));
    } catch {
      // a server that labels non-JSON as JSON: keep the text
    }
  }
  if (Buffer.byteLength(body.text, 'utf8') <= MAX_TEXT_BODY) return body.text;
  const decoder = new StringDecoder('utf8');
  return decoder.write(Buffer.from(body.text, 'utf8').subarray(0, MAX_TEXT_BODY));
}

/** `ECONNREFUSED`, `ENOTFOUND`, ...: fetch wraps network errors as `fetch failed` with a cause. */
export function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string' && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
