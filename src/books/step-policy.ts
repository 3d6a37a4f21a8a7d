// A step's effective keys: its own, over the book's `defaults`, over the built-in defaults of
// BOOKS.md section 4. Pure; the job compiler snapshots the result (STYLE.md habit 4).
import type { Book, BookStep, RetryPolicyInput, StepKind, StepPolicy } from './book.types.js';
import { parseDuration } from './duration.js';

export const BUILTIN_STEP_POLICY = {
  estimated_duration_s: 30,
  multiplier: 10,
  max_attempts: 1,
  delay_s: 2,
  max_delay_s: 300,
  backoff: 'exponential',
  on_failure: 'fail',
} as const;

/** Default keys that only mean something to one kind of step. */
const KIND_ONLY_DEFAULTS: Readonly<Partial<Record<keyof BookStep, StepKind>>> = { env: 'shell', interval: 'wait' };

/**
 * The step with the book's defaults applied where it lacks a key. `retry` and `env` merge key
 * by key (a step that sets `retry.max_attempts` keeps the default `delay`); `env` only reaches
 * shell steps and `interval` wait steps, the kinds that use them.
 */
export function stepWithDefaults(book: Pick<Book, 'defaults'>, step: BookStep): BookStep {
  const defaults = applicableDefaults(book.defaults ?? {}, step.kind);
  const merged = { ...defaults, ...withoutUndefined(step) } as BookStep;
  const retry = mergeObjects(defaults.retry, step.retry);
  if (retry) merged.retry = retry;
  const env = mergeObjects(defaults.env, step.env);
  if (env) merged.env = env;
  return merged;
}

function applicableDefaults(defaults: Partial<BookStep>, kind: StepKind): Partial<BookStep> {
  const entries = Object.entries(withoutUndefined(defaults)).filter(([key]) => {
    const only = KIND_ONLY_DEFAULTS[key as keyof BookStep];
    return only === undefined || only === kind;
  });
  return Object.fromEntries(entries) as Partial<BookStep>;
}

export function resolveStepPolicy(book: Pick<Book, 'defaults'>, step: BookStep): StepPolicy {
  const s = stepWithDefaults(book, step);
  const estimate = s.estimated_duration === undefined ? BUILTIN_STEP_POLICY.estimated_duration_s : parseDuration(s.estimated_duration);
  const multiplier = s.estimated_duration_over_stop ?? BUILTIN_STEP_POLICY.multiplier;
  return {
    estimated_duration_s: estimate,
    multiplier,
    timeout_s: estimate * multiplier,
    retry: retryPolicy(s.retry ?? {}),
    on_failure: s.on_failure ?? BUILTIN_STEP_POLICY.on_failure,
  };
}

function retryPolicy(r: RetryPolicyInput): StepPolicy['retry'] {
  return {
    max_attempts: r.max_attempts ?? BUILTIN_STEP_POLICY.max_attempts,
    delay_s: r.delay === undefined ? BUILTIN_STEP_POLICY.delay_s : parseDuration(r.delay),
    max_delay_s: r.max_delay === undefined ? BUILTIN_STEP_POLICY.max_delay_s : parseDuration(r.max_delay),
    backoff: r.backoff ?? BUILTIN_STEP_POLICY.backoff,
    retry_on_exit_codes: [...(r.retry_on_exit_codes ?? [])],
    retry_on_timeout: r.retry_on_timeout ?? false,
  };
}

function mergeObjects<T extends object>(base: T | undefined, own: T | undefined): T | undefined {
  if (base === undefined) return own;
  if (own === undefined) return { ...base };
  return { ...withoutUndefined(base), ...withoutUndefined(own) } as T;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
