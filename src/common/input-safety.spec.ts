import { MAX_INPUT_DEPTH, unsafeInput } from './input-safety.js';

const nested = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`);

describe('unsafeInput', () => {
  it('accepts ordinary input', () => {
    expect(unsafeInput({ params: { msg: 'hello', list: [1, 'two', { x: null }] } }, '')).toEqual([]);
    expect(unsafeInput(nested(MAX_INPUT_DEPTH - 1), '')).toEqual([]);
    expect(unsafeInput(undefined, 'query')).toEqual([]);
  });

  it('names every NUL byte, in strings and keys, in document order', () => {
    expect(unsafeInput({ params: { msg: 'a\u0000b', list: ['ok', 'x\u0000'], 'k\u0000': 1 } }, '').map((p) => p.field)).toEqual([
      'params',
      'params.msg',
      'params.list.1',
    ]);
    expect(unsafeInput({ ref: '\u0000' }, 'path')).toEqual([{ field: 'path.ref', message: 'path.ref: contains a NUL byte (\\u0000), which is not allowed' }]);
    expect(unsafeInput('name: x\u0000', '')[0]!.field).toBe('(body)');
  });

  it('stops at the depth limit without recursing, naming where', () => {
    const problems = unsafeInput({ params: nested(5000) }, '');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe(['params', ...Array(MAX_INPUT_DEPTH - 1).fill('a')].join('.'));
    expect(problems[0]!.message).toMatch(new RegExp(`nested more than ${MAX_INPUT_DEPTH} levels deep$`));
    expect(unsafeInput(nested(100_000), '', 8)).toHaveLength(1);
  });
});
