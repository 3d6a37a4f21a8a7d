import { bodyExcerpt, displayUrl, isExpectedStatus, isJsonContentType, isRetryableStatus, parseRetryAfter } from './http-status.js';

describe('http status decisions', () => {
  it('expects any 2xx by default, else the code or list given', () => {
    expect(isExpectedStatus(204)).toBe(true);
    expect(isExpectedStatus(302)).toBe(false);
    expect(isExpectedStatus(404, 404)).toBe(true);
    expect(isExpectedStatus(200, [201, 202])).toBe(false);
    expect(isExpectedStatus(202, [201, 202])).toBe(true);
  });
  it('retries 408, 429 and 5xx only', () => {
    expect([408, 429, 500, 503, 599].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 422].some(isRetryableStatus)).toBe(false);
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 7 ', now)).toBe(7);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
  it('hides credentials in printed URLs', () => {
    expect(displayUrl('https://user:pa55@example.com/x?y=1')).toBe('https://example.com/x?y=1');
    expect(displayUrl('http://example.com/a')).toBe('http://example.com/a');
  });
  it('recognises JSON media types', () => {
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/problem+json')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType(null)).toBe(false);
  });
  it('makes a short one-line excerpt', () => {
    expect(bodyExcerpt('  not\n  found  ')).toBe('not found');
    expect(bodyExcerpt('x'.repeat(300), 10)).toBe('xxxxxxxxxx…');
  });
});
