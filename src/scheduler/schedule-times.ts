// The pure decisions of the scheduler (STYLE.md habit 8): when an entry fires next, whether a
// due slot fires or is skipped as missed, and whether an operator's override is a valid entry.
// croner computes every cron and `at` time; nothing here parses cron itself.
import { Cron } from 'croner';
import type { ScheduleEntry } from '../books/book.types.js';
import { parseDuration } from '../books/duration.js';
import type { ErrorDetail } from '../common/errors.js';

export type MissedPolicy = 'once' | 'skip';

/**
 * A slot overdue by more than this was missed (every node was down, or none could reach the
 * database); one found sooner is just a tick that came a little late and fires normally.
 */
export const MISSED_GRACE_MS = 60_000;

/** What fires: the operator's override if there is one, else the book's entry. */
export function effectiveSpec(spec: ScheduleEntry, override: ScheduleEntry | null): ScheduleEntry {
  return override ?? spec;
}

/**
 * The first slot strictly after `after`. `every` slots are whole multiples of the interval
 * counted from 1970-01-01 00:00 UTC, so every node computes the same slots with no shared
 * anchor (`every: 6h` fires at 00:00, 06:00, 12:00 and 18:00 UTC; `every: 2s` on even
 * seconds). `at` and `cron` are read in `timeZone`.
 */
export function nextRunAfter(spec: ScheduleEntry, after: Date, timeZone: string): Date {
  if (spec.every !== undefined) {
    const period = Math.round(parseDuration(spec.every) * 1000);
    if (!(period > 0)) throw new Error(`every must be more than 0 (got ${String(spec.every)})`);
    return new Date((Math.floor(after.getTime() / period) + 1) * period);
  }
  const patterns = spec.cron !== undefined ? [spec.cron] : atTimes(spec.at).map(atPattern);
  let next: Date | null = null;
  for (const pattern of patterns) {
    const candidate = new Cron(pattern, { paused: true, timezone: timeZone }).nextRun(after);
    if (candidate && (!next || candidate < next)) next = candidate;
  }
  if (!next) throw new Error(`schedule ${describeSpec(spec)} never fires again`);
  return next;
}

/** A due slot fires unless it was missed and the policy is to skip missed slots. */
export function shouldFire(dueAt: Date, now: Date, policy: MissedPolicy, graceMs = MISSED_GRACE_MS): boolean {
  return policy === 'once' || now.getTime() - dueAt.getTime() <= graceMs;
}

/**
 * The slot after a due one has fired (or was skipped): never in the past, so however many
 * slots were missed, at most one of them runs (no burst of catch-up jobs).
 */
export function nextAfterDue(spec: ScheduleEntry, dueAt: Date, now: Date, timeZone: string): Date {
  return nextRunAfter(spec, dueAt > now ? dueAt : now, timeZone);
}

/** `every 2s`, `at 03:15, 14:30`, `cron 0 3 * * 1`: for lists and the CLI. */
export function describeSpec(spec: ScheduleEntry): string {
  if (spec.every !== undefined) return `every ${String(spec.every)}`;
  if (spec.cron !== undefined) return `cron ${spec.cron}`;
  return `at ${atTimes(spec.at).join(', ')}`;
}

/** Every problem of an override as the API received it, each naming its field; [] when valid. */
export function scheduleEntryProblems(input: unknown, field = 'override'): ErrorDetail[] {
  const problem = (where: string, message: string, value?: unknown): ErrorDetail => ({
    field: where,
    message: `${where}: ${message}`,
    value,
  });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [problem(field, 'must be an object with one of every, at or cron, or null', input)];
  }
  const entry = input as Record<string, unknown>;
  const keys = Object.keys(entry);
  const unknown = keys.filter((k) => !['every', 'at', 'cron'].includes(k));
  if (unknown.length) return unknown.map((k) => problem(`${field}.${k}`, 'unknown field (use one of every, at or cron)'));
  if (keys.length !== 1)
    return [problem(field, `must set exactly one of every, at or cron (got ${keys.length ? keys.join(', ') : 'none'})`)];
  if (entry.every !== undefined) {
    try {
      if (typeof entry.every !== 'number' && typeof entry.every !== 'string') throw new Error('must be a duration such as 30m');
      if (parseDuration(entry.every) <= 0) throw new Error('must be more than 0');
    } catch (e) {
      return [problem(`${field}.every`, (e as Error).message, entry.every)];
    }
    return [];
  }
  if (entry.cron !== undefined) {
    if (typeof entry.cron !== 'string' || entry.cron.trim() === '')
      return [problem(`${field}.cron`, 'must be a cron expression such as "0 3 * * 1"', entry.cron)];
    try {
      new Cron(entry.cron, { paused: true }).stop();
    } catch (e) {
      return [problem(`${field}.cron`, `'${entry.cron}' is not a valid cron expression: ${(e as Error).message}`, entry.cron)];
    }
    return [];
  }
  const at = entry.at;
  const times = Array.isArray(at) ? at : [at];
  if (times.length === 0) return [problem(`${field}.at`, 'needs at least one time of day HH:MM', at)];
  return times.flatMap((t, i) =>
    typeof t === 'string' && isTimeOfDay(t)
      ? []
      : [
          problem(
            Array.isArray(at) ? `${field}.at[${i}]` : `${field}.at`,
            `${JSON.stringify(t)} is not a time of day (HH:MM, 00:00 to 23:59)`,
            t,
          ),
        ],
  );
}

function isTimeOfDay(value: string): boolean {
  const m = /^([0-9]{1,2}):([0-9]{2})$/.exec(value);
  return !!m && Number(m[1]) < 24 && Number(m[2]) < 60;
}

function atTimes(at: ScheduleEntry['at']): string[] {
  return at === undefined ? [] : Array.isArray(at) ? at : [at];
}

/** `03:15` → the cron pattern `15 3 * * *`. */
function atPattern(time: string): string {
  const [hours, minutes] = time.split(':');
  return `${Number(minutes)} ${Number(hours)} * * *`;
}
