import {
  chooseEstimate,
  describeBasis,
  estimateKey,
  etaOf,
  etaSeconds,
  finalOutcome,
  foldDuration,
  learnedCost,
  learnedRunChance,
  percentile,
  remainingSeconds,
  type DurationHistory,
} from './estimates.js';

/** A history of these values, as foldDuration would have built it. */
const of = (...values: number[]): DurationHistory => values.reduce<DurationHistory | undefined>((h, v) => foldDuration(h, v), undefined)!;

describe('chooseEstimate', () => {
  it('uses the book figure until the history has enough runs', () => {
    expect(chooseEstimate(30, 10, { done: of(4, 6) }, 3)).toEqual({
      estimated_duration: 30,
      estimate_source: 'book',
      estimate_runs: 0,
      estimate_p90: null,
      timeout: 300,
    });
    expect(chooseEstimate(2, 10, undefined, 3).estimate_source).toBe('book');
  });

  it('takes the learned cost once it has them, with the runs it comes from and its p90', () => {
    expect(chooseEstimate(30, 10, { done: of(4, 5, 4.5) }, 3)).toMatchObject({
      estimated_duration: 4.5,
      estimate_source: 'history',
      estimate_runs: 3,
      estimate_p90: 5,
    });
  });

  it('never tightens the timeout below the book estimate × multiplier', () => {
    expect(chooseEstimate(30, 10, { done: of(4, 5, 4.5) }, 3).timeout).toBe(300);
  });

  it('widens the timeout to the learned p99 × multiplier when healthy runs were slower than the book said', () => {
    // fifty 1 s runs and one of 20 s: a 20 s run is not killed by a timeout from the mean
    const history = { done: of(...Array.from({ length: 49 }, () => 1), 20) };
    const chosen = chooseEstimate(1, 2, history, 3);
    expect(chosen.estimated_duration).toBeLessThan(2);
    expect(chosen.timeout).toBe(40);
  });

  it('does not widen the timeout from failed attempts (a timed-out attempt would widen it each time)', () => {
    expect(chooseEstimate(1, 10, { failed: of(10, 10, 10) }, 3).timeout).toBe(10);
  });
});

describe('learnedCost', () => {
  it('counts a step that always fails and is ignored: failures teach too', () => {
    expect(learnedCost({ ignored: of(0.03, 0.03, 0.03) }, 3)).toMatchObject({ runs: 3, cost: 0.03 });
  });

  it('weights each outcome by how often it came', () => {
    // 3 done runs of 10 s, 1 failed run of 2 s: 3/4 × 10 + 1/4 × 2
    expect(learnedCost({ done: of(10, 10, 10), failed: of(2) }, 3)?.cost).toBe(8);
  });

  it('adds the retries: each retried attempt costs its run and its wait, as often as retries came per run', () => {
    // every run: one retried attempt (1 s run + 2 s wait), then 1 s done
    expect(learnedCost({ done: of(1, 1, 1), retried: of(3, 3, 3) }, 3)?.cost).toBe(4);
  });

  it("adds the step's lead: the engine's bookkeeping before it starts", () => {
    expect(learnedCost({ done: of(1, 1, 1), lead: of(0.1, 0.1, 0.1) }, 3)?.cost).toBe(1.1);
    // its median: a lead that held a wait for a busy deployment now and then does not count
    expect(learnedCost({ done: of(1, 1, 1), lead: of(0.1, 9, 0.1) }, 3)?.cost).toBe(1.1);
  });

  it('follows the recent window, not the whole past, for durations', () => {
    const history = { done: of(...Array.from({ length: 60 }, () => 100), ...Array.from({ length: 50 }, () => 1)) };
    expect(learnedCost(history, 3)?.cost).toBe(1);
  });

  it('knows nothing before minSamples runs; retries alone are not runs', () => {
    expect(learnedCost({ retried: of(1, 1, 1, 1) }, 3)).toBeUndefined();
    expect(learnedCost(undefined, 3)).toBeUndefined();
  });
});

describe('learnedRunChance', () => {
  it('is the share of recent jobs in which the step ran', () => {
    expect(learnedRunChance({ ran: of(1, 0, 0, 1) }, 3)).toBe(0.5);
    expect(learnedRunChance({ ran: of(0, 0, 0) }, 3)).toBe(0);
  });
  it('is unknown with fewer than minSamples jobs', () => {
    expect(learnedRunChance({ ran: of(1, 0) }, 3)).toBeUndefined();
    expect(learnedRunChance(undefined, 3)).toBeUndefined();
  });
});

describe('finalOutcome', () => {
  it('names what an attempt that ended the step teaches', () => {
    expect(finalOutcome('done', 'ignore')).toBe('done');
    expect(finalOutcome('error', 'ignore')).toBe('ignored');
    expect(finalOutcome('error', 'fail')).toBe('failed');
    expect(finalOutcome('error', 'continue')).toBe('failed');
  });
});

describe('estimateKey', () => {
  const context = { params: { size: 'large', n: 3 }, deployment: { name: 'db-1', vars: { tier: 'gold' } } };
  it('is empty without estimate_by', () => {
    expect(estimateKey(undefined, context)).toBe('');
    expect(estimateKey([], context)).toBe('');
  });
  it('is the values of the named inputs; a missing one counts as null', () => {
    expect(estimateKey(['params.size'], context)).toBe('{"params.size":"large"}');
    expect(estimateKey(['params.n', 'deployment.vars.tier', 'params.none'], context)).toBe(
      '{"params.n":3,"deployment.vars.tier":"gold","params.none":null}',
    );
  });
  it('differs between values', () => {
    expect(estimateKey(['params.size'], { params: { size: 'small' } })).not.toBe(estimateKey(['params.size'], context));
  });
});

describe('foldDuration', () => {
  it('keeps a running mean and a bounded window', () => {
    let history = foldDuration(undefined, 10);
    history = foldDuration(history, 20);
    history = foldDuration(history, 30, 2);
    expect(history.samples).toBe(3);
    expect(history.mean).toBeCloseTo(20);
    expect(history.recent).toEqual([20, 30]);
  });
});

describe('percentile', () => {
  it('finds the 90th percentile', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([], 90)).toBeUndefined();
  });
});

describe('remainingSeconds', () => {
  const step = { estimated_duration: 10, estimate_p90: 16 };
  it('counts down the estimate while the step is within it', () => {
    expect(remainingSeconds(step, 4)).toBe(6);
  });
  it('past the estimate, expects the step to run to its learned p90', () => {
    expect(remainingSeconds(step, 12)).toBe(4);
  });
  it('past the p90 too, still expects a share of the elapsed time: never 0 while it runs', () => {
    expect(remainingSeconds(step, 30)).toBeCloseTo(3);
    expect(remainingSeconds({ estimated_duration: 2, estimate_p90: null }, 9)).toBeCloseTo(0.9);
  });
  it('never shows less than what is known to be left, whatever the elapsed time', () => {
    for (let t = 0; t < 40; t += 0.5) expect(remainingSeconds(step, t)).toBeGreaterThan(0);
  });
});

describe('etaOf', () => {
  it('sums what is left, weighting pending steps by their run chance', () => {
    expect(
      etaSeconds([
        { state: 'done', estimated_duration: 10 },
        { state: 'running', estimated_duration: 10, elapsed: 4 },
        { state: 'pending', estimated_duration: 5 },
        { state: 'pending', estimated_duration: 8, run_chance: 0.5 },
        { state: 'pending', estimated_duration: 2, run_chance: 0 },
        { state: 'skipped', estimated_duration: 7 },
      ]),
    ).toBe(15);
  });

  it('says where the ETA comes from: learned, with the fewest runs, only when every counted step learned', () => {
    const learned = (runs: number) => ({ state: 'pending', estimated_duration: 1, estimate_source: 'history', estimate_runs: runs });
    expect(etaOf([learned(12), learned(5)])).toMatchObject({ eta_basis: 'learned', eta_runs: 5 });
    expect(etaOf([learned(12), { state: 'pending', estimated_duration: 1, estimate_source: 'book' }])).toMatchObject({
      eta_basis: 'book',
      eta_runs: 0,
    });
    // a step that will not run does not make the ETA a book one
    expect(etaOf([learned(12), { state: 'pending', estimated_duration: 1, estimate_source: 'book', run_chance: 0 }])).toMatchObject({
      eta_basis: 'learned',
      eta_runs: 12,
    });
  });

  it('never counts down to a false value while a step runs past its estimate', () => {
    const eta = etaOf([{ state: 'running', estimated_duration: 2, estimate_p90: 3, elapsed: 9 }]);
    expect(eta.eta_s).toBeGreaterThan(0);
  });
});

describe('describeBasis', () => {
  it('reads as people say it', () => {
    expect(describeBasis('learned', 12)).toBe('learned from 12 runs');
    expect(describeBasis('learned', 1)).toBe('learned from 1 run');
    expect(describeBasis('book', 0)).toBe('book estimate');
  });
});
