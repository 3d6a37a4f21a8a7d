import { chooseEstimate, etaSeconds, foldDuration, percentile } from './estimates.js';

describe('chooseEstimate', () => {
  it('uses the book figure until the history has enough samples', () => {
    expect(chooseEstimate(30, 10, { samples: 2, mean: 5, recent: [4, 6] }, 3)).toEqual({
      estimated_duration: 30,
      estimate_source: 'book',
      timeout: 300,
    });
  });
  it('takes the learned mean once it has them, and the timeout follows', () => {
    expect(chooseEstimate(30, 10, { samples: 3, mean: 4.5, recent: [4, 5, 4.5] }, 3)).toEqual({
      estimated_duration: 4.5,
      estimate_source: 'history',
      timeout: 45,
    });
  });
  it('ignores a history with no duration', () => {
    expect(chooseEstimate(2, 10, undefined, 3).estimate_source).toBe('book');
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

describe('etaSeconds', () => {
  it('sums what is left', () => {
    expect(
      etaSeconds([
        { state: 'done', estimated_duration: 10 },
        { state: 'running', estimated_duration: 10, elapsed: 4 },
        { state: 'pending', estimated_duration: 5 },
        { state: 'skipped', estimated_duration: 7 },
      ]),
    ).toBe(11);
  });
  it('never counts an overdue step below zero', () => {
    expect(etaSeconds([{ state: 'running', estimated_duration: 2, elapsed: 9 }])).toBe(0);
  });
});
