import { QuireError } from '../common/errors.js';
import { validateParams } from './params-validator.js';

const SCHEMA = {
  type: 'object',
  required: ['release'],
  properties: { release: { type: 'string' }, replicas: { type: 'integer', default: 1 }, size: { type: 'number' } },
};

/** The error validateParams throws, as `field: message` lines. */
function refusal(schema: Record<string, unknown> | undefined, input: unknown): string[] {
  try {
    validateParams(`spec-${JSON.stringify(schema)}`, schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(QuireError);
    return (error as QuireError).details.map((d) => d.message);
  }
  throw new Error('expected the params to be refused');
}

describe('validateParams', () => {
  it('fills defaults and keeps declared params', () => {
    expect(validateParams('k1', SCHEMA, { release: '1.0' })).toEqual({ release: '1.0', replicas: 1 });
  });

  it('refuses each unknown param by name, with a did-you-mean', () => {
    expect(refusal(SCHEMA, { relase: '9.9.9' })).toEqual([
      "params.relase: unknown parameter (did you mean 'release'?)",
      'params.release: is required',
    ]);
    expect(refusal(SCHEMA, { release: '1', replica: 2, zzz: true })).toEqual([
      "params.replica: unknown parameter (did you mean 'replicas'?)",
      'params.zzz: unknown parameter (this action takes release, replicas, size)',
    ]);
  });

  it('counts names declared inside allOf/anyOf/oneOf/if/then/else as declared', () => {
    const schema = { type: 'object', properties: { a: {} }, allOf: [{ properties: { b: {} } }], if: { properties: { a: { const: 1 } } }, then: { properties: { c: {} } } };
    expect(validateParams('k-comp', schema, { a: 1, b: 2, c: 3 })).toEqual({ a: 1, b: 2, c: 3 });
    expect(refusal(schema, { zzzz: 1 })).toEqual(['params.zzzz: unknown parameter (this action takes a, b, c)']);
  });

  it('lets a schema that sets additionalProperties (or patternProperties) decide itself', () => {
    expect(validateParams('k-open', { ...SCHEMA, additionalProperties: true }, { release: '1', extra: 'x' })).toMatchObject({ extra: 'x' });
    expect(validateParams('k-typed', { ...SCHEMA, additionalProperties: { type: 'string' } }, { release: '1', extra: 'x' })).toMatchObject({ extra: 'x' });
    expect(validateParams('k-pattern', { ...SCHEMA, patternProperties: { '^x_': {} } }, { release: '1', x_a: 1 })).toMatchObject({ x_a: 1 });
    // additionalProperties: false is the schema's own refusal, now with the did-you-mean too
    expect(refusal({ ...SCHEMA, additionalProperties: false }, { release: '1', sise: 2 })).toEqual([
      "params.sise: unknown parameter (did you mean 'size'?)",
    ]);
  });

  it('takes any params when the book has no params schema', () => {
    expect(validateParams('k-none', undefined, { anything: 1 })).toEqual({ anything: 1 });
  });

  it('refuses integers beyond 2^53 anywhere in the params, rather than rounding them', () => {
    // JSON.parse has already rounded 9007199254740993 to 2^53: an integer no double holds exactly
    const parsed = JSON.parse('{"release":"1","replicas":9007199254740993,"size":-1e300}') as Record<string, unknown>;
    expect(refusal(SCHEMA, parsed)).toEqual([
      'params.replicas: integer beyond ±9007199254740991 (2^53 - 1) cannot be kept exactly; pass it as a string',
      'params.size: integer beyond ±9007199254740991 (2^53 - 1) cannot be kept exactly; pass it as a string',
    ]);
    expect(refusal({ type: 'object', additionalProperties: true }, { deep: { list: [1, 2 ** 60] } })).toEqual([
      'params.deep.list.1: integer beyond ±9007199254740991 (2^53 - 1) cannot be kept exactly; pass it as a string',
    ]);
    expect(refusal(SCHEMA, JSON.parse('{"release":"1","size":1e400}'))).toEqual(['params.size: number beyond the range of a double; pass it as a string']);
    expect(validateParams('k-safe', SCHEMA, { release: '1', replicas: Number.MAX_SAFE_INTEGER, size: 0.5 })).toMatchObject({
      replicas: Number.MAX_SAFE_INTEGER,
    });
  });
});
