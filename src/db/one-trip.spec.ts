import { inlined } from './one-trip.js';

describe('inlined', () => {
  it('makes every value one literal, whatever it holds', () => {
    const hostile = `x'); DROP TABLE jobs; -- \\ $2`;
    expect(inlined({ text: 'SELECT $1::text, $2::int', values: [hostile, 8] })).toBe(
      `SELECT  E'x''); DROP TABLE jobs; -- \\\\ $2'::text, '8'::int`,
    );
  });

  it('writes arrays, JSON, null and booleans as node-postgres would send them', () => {
    expect(inlined({ text: 'SELECT $1::text[], $2::jsonb, $3, $4', values: [['a', 'b"c', null], '{"k":"v"}', null, true] })).toBe(
      `SELECT  E'{"a","b\\\\"c",NULL}'::text[], '{"k":"v"}'::jsonb, NULL, 'true'`,
    );
  });

  it('replaces $10 as the tenth value, not $1 followed by 0', () => {
    const values = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    expect(inlined({ text: 'SELECT $10, $1', values })).toBe(`SELECT 'v10', 'v1'`);
  });

  it('refuses a statement that refers to a value it was not given', () => {
    expect(() => inlined({ text: 'SELECT $2', values: ['only one'] })).toThrow('statement refers to $2 but has 1 value(s)');
  });
});
