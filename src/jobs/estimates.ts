// Pure decisions about durations (BOOKS.md section 7); each has its own spec.
//
// What is learned, per (book, step, estimate key): one history per outcome of a finished
// attempt (`done`, `failed`, `ignored`: a failure the book ignores, `retried`: an attempt that
// failed and was tried again, its cost counting the wait before the next attempt), `ran`, one
// 1 or 0 per job: whether the step ran or its `when` skipped it, and `lead`, the seconds between
// the end of the step before (or the job's creation) and this step's start: the engine's own
// latency and bookkeeping, which a person waiting for the job waits for too.

export const OUTCOMES = ['done', 'failed', 'ignored', 'retried', 'ran', 'lead'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** How many recent values each history keeps, for its means and percentiles. */
export const HISTORY_WINDOW = 50;

export interface DurationHistory {
  /** every value ever folded in */
  samples: number;
  /** running mean over all of them */
  mean: number;
  /** the last HISTORY_WINDOW values */
  recent: number[];
}

/** The histories of one step for one estimate key, by outcome. */
export type StepHistory = Partial<Record<Outcome, DurationHistory>>;

export interface LearnedCost {
  /** runs the figures come from: attempts that ended the step (done, failed or ignored) */
  runs: number;
  /** expected seconds the step costs when it runs: its outcomes weighted by how often each came, plus its retries and its lead */
  cost: number;
  /** 90th percentile of one attempt that ended the step */
  p90: number;
  /** 99th percentile of a healthy (done) attempt, when there is one */
  p99: number | undefined;
}

/** What the history says the step will cost, once it has `minSamples` runs; undefined before. */
export function learnedCost(history: StepHistory | undefined, minSamples: number): LearnedCost | undefined {
  if (!history) return undefined;
  const finals = (['done', 'failed', 'ignored'] as const).map((o) => history[o]).filter((h): h is DurationHistory => !!h && h.samples > 0);
  const runs = finals.reduce((sum, h) => sum + h.samples, 0);
  if (runs < Math.max(1, minSamples)) return undefined;
  // Each outcome's share is its count among all runs; its duration the mean of its recent values,
  // so a step that changed pace is followed within a window rather than averaged with its past.
  let cost = finals.reduce((sum, h) => sum + (h.samples / runs) * recentMean(h), 0);
  const retried = history.retried;
  if (retried && retried.samples > 0) cost += (retried.samples / runs) * recentMean(retried);
  // the median: a first step's lead now and then holds a wait for a busy deployment
  if (history.lead && history.lead.recent.length > 0) cost += percentile(history.lead.recent, 50)!;
  const attempts = finals.flatMap((h) => h.recent);
  return {
    runs,
    cost: round(cost),
    p90: round(percentile(attempts, 90) ?? cost),
    p99: history.done && history.done.recent.length ? percentile(history.done.recent, 99) : undefined,
  };
}

/** How often the step ran in recent jobs (its `when` decided at run time); undefined without history. */
export function learnedRunChance(history: StepHistory | undefined, minSamples: number): number | undefined {
  const ran = history?.ran;
  if (!ran || ran.recent.length < Math.max(1, minSamples)) return undefined;
  return round(recentMean(ran));
}

export interface ChosenEstimate {
  estimated_duration: number;
  estimate_source: 'book' | 'history';
  /** runs the learned estimate comes from; 0 for a book estimate */
  estimate_runs: number;
  /** where a running step is expected to end once past its estimate; null without history */
  estimate_p90: number | null;
  timeout: number;
}

/**
 * The learned cost replaces the book's figure once the history has `minSamples` runs. The
 * timeout is the larger of the book's estimate and the learned p99 of healthy runs, times the
 * multiplier: learning never tightens a timeout below what the author allowed, and a step whose
 * runs spread widely gets room for its slow ones rather than being killed for being slow once.
 */
export function chooseEstimate(
  bookEstimate: number,
  multiplier: number,
  history: StepHistory | undefined,
  minSamples: number,
): ChosenEstimate {
  const learned = learnedCost(history, minSamples);
  if (!learned) {
    return {
      estimated_duration: bookEstimate,
      estimate_source: 'book',
      estimate_runs: 0,
      estimate_p90: null,
      timeout: round(bookEstimate * multiplier),
    };
  }
  return {
    estimated_duration: learned.cost,
    estimate_source: 'history',
    estimate_runs: learned.runs,
    estimate_p90: learned.p90,
    timeout: round(Math.max(bookEstimate, learned.p99 ?? 0) * multiplier),
  };
}

/** Folds one value into a history: running mean, and a bounded window of recent values. */
export function foldDuration(history: DurationHistory | undefined, value: number, window = HISTORY_WINDOW): DurationHistory {
  const samples = (history?.samples ?? 0) + 1;
  const mean = (history?.mean ?? 0) + (value - (history?.mean ?? 0)) / samples;
  const recent = [...(history?.recent ?? []), value].slice(-window);
  return { samples, mean, recent };
}

/** The outcome an attempt that ended the step teaches: a failure the book ignores is learned apart. */
export function finalOutcome(state: 'done' | 'error', onFailure: string): Outcome {
  if (state === 'done') return 'done';
  return onFailure === 'ignore' ? 'ignored' : 'failed';
}

/**
 * The history a step's duration is kept under: '' without `estimate_by`, else its inputs'
 * values as JSON, e.g. `{"params.size":"large"}`. Undefined values count as null.
 */
export function estimateKey(paths: readonly string[] | undefined, context: unknown): string {
  if (!paths || paths.length === 0) return '';
  const values: Record<string, unknown> = {};
  for (const path of paths) values[path] = valueAt(context, path.split('.')) ?? null;
  return JSON.stringify(values);
}

function valueAt(root: unknown, path: string[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

export interface StepProgress {
  state: string;
  estimated_duration: number;
  estimate_source?: string;
  estimate_runs?: number;
  estimate_p90?: number | null;
  /** how likely a pending step is to run (0 when its `when` is known false); 1 when absent */
  run_chance?: number;
  /** seconds the step has been running, for the one that is */
  elapsed?: number;
}

/**
 * Past its estimate, a running step is expected to go on to its learned p90; past that too,
 * at least this share of its elapsed time again. So the ETA of a running job never shows a
 * value it already knows is false (0 while a step still runs, or its estimate long passed).
 */
export const TAIL_SHARE = 0.1;

/** Seconds a running step still needs, from its estimate and what was learned of its spread. */
export function remainingSeconds(step: Pick<StepProgress, 'estimated_duration' | 'estimate_p90'>, elapsed: number): number {
  const estimate = step.estimated_duration;
  const p90 = step.estimate_p90 ?? estimate;
  const expected = elapsed < estimate ? estimate - elapsed : p90 > elapsed ? p90 - elapsed : 0;
  return Math.max(expected, TAIL_SHARE * elapsed);
}

export interface Eta {
  eta_s: number;
  /** 'learned' when every step the ETA still counts has a learned estimate */
  eta_basis: 'learned' | 'book';
  /** the fewest runs any of those learned estimates comes from; 0 when the basis is the book */
  eta_runs: number;
}

/**
 * Seconds left: pending and retrying steps count their estimate weighted by their run chance; a
 * running or waiting step counts what it still needs; done, skipped, failed steps count nothing.
 */
export function etaOf(steps: StepProgress[]): Eta {
  let eta = 0;
  let book = false;
  let runs = Infinity;
  for (const step of steps) {
    let part: number;
    if (step.state === 'pending' || step.state === 'retrying') part = step.estimated_duration * (step.run_chance ?? 1);
    else if (step.state === 'running' || step.state === 'waiting') part = remainingSeconds(step, step.elapsed ?? 0);
    else continue;
    eta += part;
    if (part <= 0) continue;
    if (step.estimate_source === 'history') runs = Math.min(runs, step.estimate_runs ?? 0);
    else book = true;
  }
  const learned = !book && runs !== Infinity;
  return { eta_s: round(eta), eta_basis: learned ? 'learned' : 'book', eta_runs: learned ? runs : 0 };
}

/** Seconds left (see etaOf). */
export function etaSeconds(steps: StepProgress[]): number {
  return etaOf(steps).eta_s;
}

/** "learned from 12 runs" or "book estimate": where an ETA comes from, for people. */
export function describeBasis(basis: string | undefined, runs: number | undefined): string {
  return basis === 'learned' ? `learned from ${runs ?? 0} run${runs === 1 ? '' : 's'}` : 'book estimate';
}

function recentMean(history: DurationHistory): number {
  return history.recent.length ? history.recent.reduce((a, b) => a + b, 0) / history.recent.length : history.mean;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
