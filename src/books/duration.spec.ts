import { DurationError, isDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    [30, 30],
    [0, 0],
    [1.5, 1.5],
    ['30', 30],
    ['30s', 30],
    ['5m', 300],
    ['1h', 3600],
    ['2d', 172_800],
    ['500ms', 0.5],
    ['1m30s', 90],
    ['1h2m3s', 3723],
    ['1.5m', 90],
    ['2s250ms', 2.25],
  ])('%p is %p seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([
    ['10 minutes', /invalid duration '10 minutes'/],
    ['-5s', /cannot be negative/],
    [-5, /cannot be negative/],
    ['5x', /unknown unit 'x'/],
    ['', /invalid duration ''/],
    ['s', /invalid duration 's'/],
    ['1m30', /'30' needs a unit/],
    ['30s1m', /largest to smallest/],
    ['5m5m', /largest to smallest/],
    [Number.NaN, /invalid duration NaN/],
    [Number.POSITIVE_INFINITY, /invalid duration Infinity/],
  ])('refuses %p', (input, message) => {
    expect(() => parseDuration(input)).toThrow(DurationError);
    expect(() => parseDuration(input)).toThrow(message);
  });

  it('tells durations from the rest', () => {
    expect(isDuration('2s')).toBe(true);
    expect(isDuration(5)).toBe(true);
    expect(isDuration('2 s')).toBe(false);
    expect(isDuration(true)).toBe(false);
    expect(isDuration(null)).toBe(false);
  });
});
