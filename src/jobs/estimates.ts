// Pure decisions about durations (BOOKS.md section 7); each has its own spec.

export interface DurationHistory {
  samples: number;
  mean: number;
  recent: number[];
}

export interface ChosenEstimate {
  estimated_duration: number;
  estimate_source: 'book' | 'history';
  timeout: number;
}

/** The learned mean replaces the book's figure once the history has `minSamples` runs. */
export function chooseEstimate(
  bookEstimate: number,
  multiplier: number,
  history: DurationHistory | undefined,
  minSamples: number,
): ChosenEstimate {
  const learned = history && history.samples >= minSamples && history.mean > 0;
  const estimate = learned ? round(history.mean) : bookEstimate;
  return { estimated_duration: estimate, estimate_source: learned ? 'history' : 'book', timeout: round(estimate * multiplier) };
}

/** Folds one finished run into the history: running mean, and a bounded window for p90. */
export function foldDuration(history: DurationHistory | undefined, duration: number, window = 50): DurationHistory {
  const samples = (history?.samples ?? 0) + 1;
  const mean = (history?.mean ?? 0) + (duration - (history?.mean ?? 0)) / samples;
  const recent = [...(history?.recent ?? []), duration].slice(-window);
  return { samples, mean, recent };
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
  /** seconds the step has been running, for the one that is */
  elapsed?: number;
}

/** Seconds left: the remaining estimates of unfinished steps; a running step counts what is left of it. */
export function etaSeconds(steps: StepProgress[]): number {
  let eta = 0;
  for (const step of steps) {
    if (step.state === 'pending' || step.state === 'retrying') eta += step.estimated_duration;
    else if (step.state === 'running' || step.state === 'waiting') eta += Math.max(0, step.estimated_duration - (step.elapsed ?? 0));
  }
  return round(eta);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
