// The shape of a Deployment Book after parsing and validation (BOOKS.md sections 3 and 4).
// Field names stay snake_case, as book authors write them.

export const STEP_KINDS = ['shell', 'http', 'wait', 'handler', 'trigger', 'manual'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const BOOK_SCOPES = ['deployment', 'group', 'cluster'] as const;
export type BookScope = (typeof BOOK_SCOPES)[number];

export const ON_FAILURE = ['fail', 'continue', 'ignore'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

/** Durations as authors write them: seconds as a number, or `30s`, `5m`, `1h`, `500ms`. */
export type DurationInput = number | string;

export interface RetryPolicyInput {
  max_attempts?: number;
  delay?: DurationInput;
  max_delay?: DurationInput;
  backoff?: 'exponential' | 'fixed';
  retry_on_exit_codes?: number[];
  retry_on_timeout?: boolean;
}

export interface BookStep {
  name: string;
  kind: StepKind;
  description?: string;
  serialize?: Record<string, unknown>;
  serialize_handler?: string;
  when?: string;
  estimated_duration?: DurationInput;
  estimated_duration_over_stop?: number;
  /** creation-time values the step's duration depends on (`params.size`): its history is kept per value */
  estimate_by?: string[];
  retry?: RetryPolicyInput;
  on_failure?: OnFailure;
  env?: Record<string, string>;
  secrets?: string[];
  // shell
  run?: string;
  argv?: string[];
  cwd?: string;
  // http
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: unknown;
  expect_status?: number | number[];
  // wait
  until?: { http?: { url: string; method?: string; expect_status?: number | number[] }; shell?: { run?: string; argv?: string[] } };
  interval?: DurationInput;
  duration?: DurationInput;
  // handler
  handler?: string;
  // trigger
  action?: string;
  deployment?: string;
  params?: Record<string, unknown>;
  wait?: boolean;
  // manual
  instructions?: string;
}

export interface ChainTrigger {
  trigger: string | { action: string; deployment?: string; params?: Record<string, unknown>; delay?: DurationInput };
}

export interface ScheduleEntry {
  every?: DurationInput;
  at?: string | string[];
  cron?: string;
}

export interface NotifyChannel {
  webhook?: string;
  email?: string | string[];
  secret?: string;
  on?: Array<'done' | 'error' | 'cancel'>;
}

export interface Book {
  name: string;
  description?: string;
  version?: string;
  scope?: BookScope;
  kind: string;
  action: string;
  allowed_from?: string[];
  sets_state?: string;
  channel?: string;
  priority?: number;
  should_notify?: boolean;
  params?: Record<string, unknown>;
  defaults?: Partial<BookStep>;
  steps: BookStep[];
  when?: string;
  unique?: 'deployment' | 'none';
  lock?: string;
  on_success?: ChainTrigger[];
  on_failure?: ChainTrigger[];
  notify?: NotifyChannel[];
  schedules?: ScheduleEntry[];
}

/** One problem found in a book, located in its file. `severity: warning` does not fail validation. */
export interface BookProblem {
  file: string;
  line: number;
  col: number;
  /** dotted path of the field, e.g. `steps[1].run` */
  field: string;
  message: string;
  severity: 'error' | 'warning';
}

/** What the validator needs to know about the running engine. */
export interface ValidationContext {
  /** names of registered step handlers (`handler:` must be one of them) */
  handlers: ReadonlySet<string>;
  /** names of registered serialize handlers (`serialize_handler:`); `handlers` when absent */
  serializeHandlers?: ReadonlySet<string>;
}

/** A step's effective timing, retry and failure policy, after `defaults` and built-in defaults. */
export interface StepPolicy {
  estimated_duration_s: number;
  /** `estimated_duration_over_stop` */
  multiplier: number;
  /** estimated_duration_s × multiplier */
  timeout_s: number;
  retry: RetryPolicy;
  on_failure: OnFailure;
}

/** A step's retry policy with every default applied, durations in seconds; frozen into job steps. */
export interface RetryPolicy {
  max_attempts: number;
  delay_s: number;
  max_delay_s: number;
  backoff: 'exponential' | 'fixed';
  retry_on_exit_codes: number[];
  retry_on_timeout: boolean;
}
