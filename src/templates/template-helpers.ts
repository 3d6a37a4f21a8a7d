// The helpers book authors may call (BOOKS.md section 5). Plain functions: Handlebars appends
// an `options` object to every call, which they drop, so they can also be called directly.
import { TemplateError } from './template.types.js';

export type TemplateHelper = (...args: unknown[]) => unknown;

const FALSY_TEXT = new Set(['', 'false', '0', 'no', 'off', 'null', 'undefined']);

/**
 * Truthiness for `when` and the logic helpers: a rendered template is text, so the texts
 * 'false', '0', 'no', 'off', 'null', 'undefined' and '' (trimmed, any case) are false too.
 */
export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return !FALSY_TEXT.has(value.trim().toLowerCase());
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** Formats seconds as `1h2m3s`, `1m30s`, `5s`, `500ms`, the way book authors write durations. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new TemplateError(`duration expects a number of seconds, got ${String(seconds)}`);
  }
  const ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const rest = (ms % 60_000) / 1000;
  return [unit(hours, 'h'), unit(minutes, 'm'), unit(rest, 's')].join('');
}

function unit(amount: number, suffix: string): string {
  return amount === 0 ? '' : `${amount}${suffix}`;
}

/** Handlebars' options object: the last argument of every helper call. */
function isHelperOptions(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'hash' in value && ('name' in value || 'data' in value);
}

function withoutOptions(args: unknown[]): unknown[] {
  return isHelperOptions(args[args.length - 1]) ? args.slice(0, -1) : args;
}

/** Text of a value for the string helpers; absent values are empty, structures are JSON. */
function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function toSeconds(value: unknown): number {
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof seconds !== 'number') {
    throw new TemplateError(`duration expects a number of seconds, got ${text(value) || typeof value}`);
  }
  return seconds;
}

/** Wraps a helper body so it receives the arguments without Handlebars' options object. */
function helper(body: (args: unknown[]) => unknown): TemplateHelper {
  return (...args) => body(withoutOptions(args));
}

export const templateHelpers: Readonly<Record<string, TemplateHelper>> = {
  /** `{{default deployment.vars.port 5432}}`: the value when it is set (not null), else the fallback. */
  default: helper(([value, fallback]) => (value === undefined || value === null ? fallback : value)),
  /** `{{json value}}` or `{{json value 2}}` (indented). */
  json: helper(([value, indent]) => JSON.stringify(value ?? null, null, typeof indent === 'number' ? indent : undefined)),
  eq: helper(([a, b]) => a === b),
  ne: helper(([a, b]) => a !== b),
  and: helper((args) => args.length > 0 && args.every(isTruthy)),
  or: helper((args) => args.some(isTruthy)),
  not: helper(([value]) => !isTruthy(value)),
  upper: helper(([value]) => text(value).toUpperCase()),
  lower: helper(([value]) => text(value).toLowerCase()),
  /** `{{join list}}` or `{{join list " "}}`; the separator defaults to ", ". */
  join: helper(([list, separator]) => {
    if (!Array.isArray(list)) throw new TemplateError(`join expects a list, got ${text(list) || typeof list}`);
    return list.map(text).join(typeof separator === 'string' ? separator : ', ');
  }),
  /** `{{duration 90}}` → `1m30s`. */
  duration: helper(([seconds]) => formatDuration(toSeconds(seconds))),
};
