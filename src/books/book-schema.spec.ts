import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { STEP_KINDS } from './book.types.js';
import {
  bookSchemaValidator,
  inventorySchemaValidator,
  packageRoot,
  paramsDefaultProblems,
  paramsSchemaProblems,
  readSchema,
} from './book-schema.js';

type Json = Record<string, any>;

const schema = readSchema('book') as Json;
const fixture = (name: string) => parse(readFileSync(join(packageRoot(), 'test', 'fixtures', 'books', 'valid', name), 'utf8')) as unknown;

// BOOKS.md sections 3 and 4: every key a book author may write
const TOP_KEYS = [
  'name',
  'description',
  'version',
  'scope',
  'allowed_from',
  'sets_state',
  'kind',
  'action',
  'channel',
  'priority',
  'should_notify',
  'confirm',
  'params',
  'defaults',
  'steps',
  'when',
  'unique',
  'lock',
  'on_success',
  'on_failure',
  'notify',
  'schedules',
];
const COMMON_STEP_KEYS = [
  'name',
  'kind',
  'description',
  'serialize',
  'serialize_handler',
  'when',
  'estimated_duration',
  'estimated_duration_over_stop',
  'estimate_by',
  'retry',
  'on_failure',
  'secrets',
];
const KIND_KEYS: Record<string, string[]> = {
  shell: ['run', 'argv', 'cwd', 'env'],
  http: ['method', 'url', 'headers', 'body', 'expect_status'],
  wait: ['until', 'interval', 'duration'],
  handler: ['handler'],
  trigger: ['action', 'deployment', 'params', 'wait'],
  manual: ['instructions'],
};

describe('schemas/book.schema.json', () => {
  it('is a draft 2020-12 schema with an $id', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/book\.schema\.json$/);
  });

  it('describes every top-level key and refuses others', () => {
    expect(Object.keys(schema.properties).sort()).toEqual([...TOP_KEYS].sort());
    for (const key of TOP_KEYS) expect(schema.properties[key].description).toEqual(expect.any(String));
    expect(schema.additionalProperties).toBe(false);
  });

  it('has one sub-schema per step kind, told apart by a const kind', () => {
    const step = schema.$defs.step;
    expect(step.discriminator).toEqual({ propertyName: 'kind' });
    const kinds = (step.oneOf as Json[]).map((ref) => schema.$defs[String(ref.$ref).replace('#/$defs/', '')]);
    expect(kinds.map((k) => k.properties.kind.const)).toEqual([...STEP_KINDS]);
    for (const k of kinds) {
      expect(k.additionalProperties).toBe(false);
      expect(Object.keys(k.properties).sort()).toEqual([...COMMON_STEP_KEYS, ...(KIND_KEYS[k.properties.kind.const] ?? [])].sort());
    }
  });

  it('accepts the fixtures as they are', () => {
    for (const name of ['postgres-deploy.book.yaml', 'every-kind.book.yaml', 'shop-group-rollout.book.yaml']) {
      expect([name, bookSchemaValidator()(fixture(name)), bookSchemaValidator().errors]).toEqual([name, true, null]);
    }
  });

  it.each([
    [30, true],
    ['30s', true],
    ['1m30s', true],
    ['500ms', true],
    ['10 minutes', false],
    ['-5s', false],
    [-5, false],
    ['5x', false],
  ])('takes duration %p: %p', (duration, ok) => {
    const book = { name: 'd', kind: 'k', action: 'a', steps: [{ name: 's', kind: 'wait', duration }] };
    expect(bookSchemaValidator()(book)).toBe(ok);
  });

  it('gives one error for a missing or unknown kind', () => {
    const book = (step: Json) => ({ name: 'd', kind: 'k', action: 'a', steps: [step] });
    bookSchemaValidator()(book({ name: 's', kind: 'shel' }));
    expect(bookSchemaValidator().errors).toHaveLength(1);
    bookSchemaValidator()(book({ name: 's' }));
    expect(new Set(bookSchemaValidator().errors?.map((e) => e.instancePath))).toEqual(new Set(['/steps/0']));
  });
});

describe('schemas/inventory.schema.json', () => {
  it('accepts the BOOKS.md inventory', () => {
    expect(inventorySchemaValidator()(fixture('inventory.yaml'))).toBe(true);
  });

  it('refuses a deployment without kind', () => {
    expect(inventorySchemaValidator()({ clusters: [{ name: 'c', groups: [{ name: 'g', deployments: [{ name: 'd' }] }] }] })).toBe(false);
  });
});

describe('paramsSchemaProblems', () => {
  it('accepts a valid schema, twice (nothing is cached under its $id)', () => {
    const params = { $id: 'https://example.com/params.json', type: 'object', properties: { v: { type: 'string', format: 'hostname' } } };
    expect(paramsSchemaProblems(params)).toEqual([]);
    expect(paramsSchemaProblems({ ...params })).toEqual([]);
  });

  it('names what is wrong, and where, each once', () => {
    expect(paramsSchemaProblems({ type: 'object', properties: { v: { minimum: 'one' } } })).toEqual([
      { pointer: '/properties/v/minimum', message: "'one' must be number" },
    ]);
    expect(paramsSchemaProblems({ type: 'object', properties: { v: 5 } })).toEqual([{ pointer: '/properties/v', message: '5 must be object or boolean' }]);
    // One problem for the place, naming the bad value and the allowed ones (ajv says it three ways).
    expect(paramsSchemaProblems({ type: 'object', properties: { v: { type: 'strng' } } })).toEqual([
      { pointer: '/properties/v/type', message: "'strng' is not a JSON Schema type (string, number, integer, boolean, object, array, null)" },
    ]);
    expect(paramsSchemaProblems({ type: 'object', propertes: {} })).toEqual([
      { message: expect.stringMatching(/unknown keyword: "propertes"/) },
    ]);
  });
});

describe('paramsDefaultProblems', () => {
  it('accepts defaults that fit, at every level, through $ref and under an $id, twice', () => {
    const params = {
      $id: 'https://example.com/p.json',
      type: 'object',
      $defs: { size: { enum: ['s', 'm'] } },
      properties: {
        n: { type: 'integer', minimum: 1, default: 1 },
        size: { $ref: '#/$defs/size', default: 'm' },
        list: { type: 'array', items: { type: 'string', default: 'x' }, default: ['a'] },
      },
      default: { n: 2 },
    };
    expect(paramsDefaultProblems(params)).toEqual([]);
    expect(paramsDefaultProblems({ ...params })).toEqual([]);
  });

  it('names each default its subschema refuses, by the pointer of that subschema', () => {
    const params = {
      type: 'object',
      $defs: { size: { enum: ['s', 'm'] } },
      properties: {
        n: { type: 'integer', default: 'two' },
        tier: { type: 'string', enum: ['gold', 'silver'], default: 'bronze' },
        size: { $ref: '#/$defs/size', default: 'xl' },
        'a/b': { anyOf: [{ type: 'string' }, { type: 'null', default: 0 }] },
        list: { type: 'array', items: { type: 'integer' }, default: [1, 'x'] },
      },
      required: ['n'],
      default: {},
    };
    expect(paramsDefaultProblems(params)).toEqual([
      { pointer: '', message: "must have required property 'n'" },
      { pointer: '/properties/n', message: 'must be integer' },
      { pointer: '/properties/tier', message: 'must be one of "gold", "silver"' },
      { pointer: '/properties/size', message: 'must be one of "s", "m"' },
      { pointer: '/properties/a~1b/anyOf/1', message: 'must be null' },
      { pointer: '/properties/list', message: '[1] must be integer' },
    ]);
  });
});
