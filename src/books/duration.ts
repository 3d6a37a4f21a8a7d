// Durations as book authors write them (BOOKS.md section 4): a number of seconds, or a string
// of `<number><unit>` parts with units d, h, m, s, ms, largest first, each at most once
// (`30s`, `5m`, `1h`, `500ms`, `1m30s`). A bare numeric string (`"30"`) is seconds too.

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { d: 86_400, h: 3_600, m: 60, s: 1, ms: 0.001 };
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'];
const PART = /([0-9]+(?:\.[0-9]+)?)([a-z]*)/gy;
const HINT = 'use seconds as a number, or e.g. 30s, 5m, 1h, 500ms, 1m30s';

/** Seconds of a duration; throws DurationError naming the bad input. */
export function parseDuration(input: number | string): number {
  if (typeof input === 'number') return checkNumber(input);
  if (typeof input !== 'string') throw new DurationError(`invalid duration ${String(input)}: ${HINT}`);
  if (input.startsWith('-')) throw new DurationError(`invalid duration '${input}': a duration cannot be negative`);
  if (input === '' || /\s/.test(input)) throw new DurationError(`invalid duration '${input}': ${HINT}`);
  if (/^[0-9]+(\.[0-9]+)?$/.test(input)) return Number(input);
  return parseUnits(input);
}

/** True when parseDuration accepts the value. */
export function isDuration(input: unknown): input is number | string {
  if (typeof input !== 'number' && typeof input !== 'string') return false;
  try {
    parseDuration(input);
    return true;
  } catch {
    return false;
  }
}

function checkNumber(n: number): number {
  if (!Number.isFinite(n)) throw new DurationError(`invalid duration ${n}: ${HINT}`);
  if (n < 0) throw new DurationError(`invalid duration ${n}: a duration cannot be negative`);
  return n;
}

function parseUnits(input: string): number {
  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const m = PART.exec(input);
    if (!m || m[0] === '') throw new DurationError(`invalid duration '${input}': ${HINT}`);
    const [, amount = '', unit = ''] = m;
    const rank = UNIT_ORDER.indexOf(unit);
    if (unit === '') throw new DurationError(`invalid duration '${input}': '${amount}' needs a unit; ${HINT}`);
    if (rank < 0) throw new DurationError(`invalid duration '${input}': unknown unit '${unit}'; ${HINT}`);
    if (rank <= lastUnit) throw new DurationError(`invalid duration '${input}': units must go from largest to smallest, each once`);
    lastUnit = rank;
    total += Number(amount) * (UNIT_SECONDS[unit] ?? 0);
  }
  return total;
}
