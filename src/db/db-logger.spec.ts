import { describeDbError } from './db-logger.js';

describe('describeDbError', () => {
  it('keeps the error and its SQLSTATE, drops the values PostgreSQL quotes back', () => {
    const error = Object.assign(new Error('invalid input syntax for type integer: "s3cret"'), { code: '22P02' });
    expect(describeDbError(error)).toBe('invalid input syntax for type integer: "…" (SQLSTATE 22P02)');
    expect(describeDbError(new Error('Key (name)=(s3cret, x) already exists.'))).toBe('Key (name)=(…) already exists.');
    expect(describeDbError('unsupported Unicode escape sequence')).toBe('unsupported Unicode escape sequence');
  });
});
