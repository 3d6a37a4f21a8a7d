// Escaping by where a rendered value lands (BOOKS.md section 5). Pure string functions: the
// template engine decides the position, these decide what the value may contain there.
import { TemplateError } from './template.types.js';

/** Characters that never need quoting in POSIX sh (the set Python's shlex.quote uses). */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes `value` as exactly one POSIX sh word, like Python's shlex.quote: safe values stay
 * as they are, anything else is single-quoted, a `'` inside written as `'\''`.
 */
export function shellWord(value: string): string {
  if (value.includes('\0')) {
    // sh cannot carry a NUL in an argument: it would silently cut the value short.
    throw new TemplateError('a shell value cannot contain a NUL byte');
  }
  if (value === '') return "''";
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** An HTTP header value: CR or LF would start a new header (header injection); NUL is invalid. */
export function headerValue(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new TemplateError('a header value cannot contain CR, LF or NUL');
  }
  return value;
}

/**
 * Where a value stands in a URL template:
 * - `base`: at the very start; the value is a whole absolute http(s) URL, e.g. a registry URL.
 * - `authority`: after `://`, before the next `/`, `?` or `#`: a host or host:port.
 * - `path`, `query`, `fragment`: percent-encoded, so the value cannot change the structure.
 */
export type UrlPosition = 'base' | 'authority' | 'path' | 'query' | 'fragment';

/** Decides the position of a value from the URL text that precedes it. */
export function urlPosition(preceding: string): UrlPosition {
  if (preceding === '') return 'base';
  const schemeEnd = preceding.indexOf('://');
  // Without `://` the template is a relative reference: it starts in the path.
  const rest = schemeEnd === -1 ? preceding : preceding.slice(schemeEnd + 3);
  if (schemeEnd !== -1 && !/[/?#]/.test(rest)) return 'authority';
  if (rest.includes('#')) return 'fragment';
  if (rest.includes('?')) return 'query';
  return 'path';
}

const AUTHORITY = /^[A-Za-z0-9.\-:[\]]+$/;
/** Spaces and C0/C1 control characters, which URL parsers strip or choke on. */
function hasControlOrSpace(value: string): boolean {
  return [...value].some((ch) => {
    const code = ch.codePointAt(0)!;
    return code <= 0x20 || (code >= 0x7f && code <= 0x9f);
  });
}

/**
 * Escapes or checks `value` for its position in a URL. `following` is the template text
 * after the value ('' when the URL ends with it); a base URL needs it to join cleanly.
 */
export function escapeUrlValue(value: string, position: UrlPosition, following = ''): string {
  switch (position) {
    case 'base':
      return baseUrl(value, following);
    case 'authority':
      if (!AUTHORITY.test(value)) {
        throw new TemplateError(`"${value}" is not a host or host:port (only letters, digits, ".", "-", ":", "[", "]")`);
      }
      return value;
    case 'path':
      // `.` and `..` stay as they are under percent-encoding (and `%2e%2e` is decoded back by
      // URL parsers), so as a whole segment they would move the request to another path.
      if (value === '.' || value === '..') {
        throw new TemplateError(`"${value}" is not allowed as a URL path value`);
      }
      return encodeURIComponent(value);
    case 'query':
    case 'fragment':
      return encodeURIComponent(value);
  }
}

/** A value that starts the URL: a complete absolute http(s) URL, inserted as is. */
function baseUrl(value: string, following: string): string {
  if (hasControlOrSpace(value)) {
    throw new TemplateError('a base URL cannot contain spaces or control characters');
  }
  if (!isHttpUrl(value)) {
    throw new TemplateError(`"${value}" is not an absolute http or https URL`);
  }
  // Text after a base joins its path: a query or fragment in the base would swallow it.
  if (following !== '' && /[?#]/.test(value)) {
    throw new TemplateError(`"${value}" has a query or fragment, so the URL cannot continue after it`);
  }
  return following.startsWith('/') ? value.replace(/\/+$/, '') : value;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
