// The JSON Schemas of books and inventories (schemas/*.schema.json, shared with editors),
// compiled once per process, when first needed: compiling the book schema takes ~20 ms, validating a book
// with it well under 1 ms.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { showValue } from './problem.js';

// ajv-formats is CommonJS with `exports.default`; seen from ESM, the plugin is that property.
const addFormats = addFormatsModule.default;

/**
 * The directory holding package.json. Schemas are read from there rather than relative to
 * this file because the compiled file lives one level deeper (dist/src/books).
 */
export function packageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export function readSchema(name: 'book' | 'inventory'): Record<string, unknown> {
  const path = join(packageRoot(), 'schemas', `${name}.schema.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function createSchemaAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true, // report every problem at once (STYLE.md habit 5)
    verbose: true, // errors carry the offending data and their schema, for readable messages
    discriminator: true, // one clean error for a missing or unknown step kind, not six
    allowUnionTypes: true, // durations are number | string
    strictRequired: false, // step requires `kind`, declared by each oneOf branch
  });
  addFormats(ajv);
  // editor-facing annotation (VS Code / yaml-language-server); also used in our messages
  ajv.addKeyword('patternErrorMessage');
  return ajv;
}

// Compiled on first use, not on import: a `quire worker` never validates a book, and the
// compiled schemas cost it 3.9 MB of its memory (issue 9, worker RSS against graphile-worker's).
let schemaAjv: Ajv2020 | undefined;
const compiled = new Map<'book' | 'inventory', ValidateFunction>();
function schemaValidator(name: 'book' | 'inventory'): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    validate = (schemaAjv ??= createSchemaAjv()).compile(readSchema(name));
    compiled.set(name, validate);
  }
  return validate;
}

/** The book schema's validator (one per process); its `errors` are those of its last call. */
export const bookSchemaValidator = (): ValidateFunction => schemaValidator('book');
/** The inventory schema's validator (one per process); its `errors` are those of its last call. */
export const inventorySchemaValidator = (): ValidateFunction => schemaValidator('inventory');

export type SchemaError = ErrorObject;

const paramsAjv = (() => {
  // strictSchema catches typos such as `propertes` that would silently accept anything
  const ajv = new Ajv2020({ strict: false, strictSchema: true, allErrors: true, addUsedSchema: false });
  addFormats(ajv);
  return ajv;
})();

export interface ParamsSchemaProblem {
  message: string;
  /** JSON pointer inside the params schema, when ajv names a place */
  pointer?: string;
}

/**
 * What is wrong with a book's `params` as a JSON Schema ([] when nothing): first checked
 * against the meta-schema (each place and message once), then compiled (strict-mode problems
 * such as unknown keywords). A separate ajv instance, so that a book's `$id` can never clash
 * with ours; the schema is removed again so that reloading books does not grow the cache.
 */
export function paramsSchemaProblems(schema: object): ParamsSchemaProblem[] {
  if (!paramsAjv.validateSchema(schema)) {
    // The meta-schema reports one bad value several ways (`type: strng` fails the enum of simple
    // types, "must be array" and the anyOf around both): one problem per place, saying the bad
    // value and what is allowed, is what an author can act on.
    const byPlace = new Map<string, ErrorObject[]>();
    for (const e of paramsAjv.errors ?? []) byPlace.set(e.instancePath, [...(byPlace.get(e.instancePath) ?? []), e]);
    return [...byPlace].map(([pointer, errors]) => ({ pointer, message: describeMetaErrors(valueAtPointer(schema, pointer), pointer, errors) }));
  }
  try {
    paramsAjv.compile(schema);
    return [];
  } catch (e) {
    return [{ message: e instanceof Error ? e.message : String(e) }];
  } finally {
    paramsAjv.removeSchema(schema);
  }
}

const JSON_SCHEMA_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

function describeMetaErrors(value: unknown, pointer: string, errors: ErrorObject[]): string {
  const shown = showValue(value);
  const enumError = errors.find((e) => e.keyword === 'enum');
  if (enumError) {
    const allowed = (enumError.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    if (pointer.endsWith('/type') && allowed.every((t) => JSON_SCHEMA_TYPES.includes(t as string))) {
      return `${shown} is not a JSON Schema type (${JSON_SCHEMA_TYPES.join(', ')})`;
    }
    return `${shown} is not one of the allowed values (${allowed.map((v) => showValue(v)).join(', ')})`;
  }
  const typeError = errors.find((e) => e.keyword === 'type');
  if (typeError) {
    const wanted = String((typeError.params as { type?: unknown }).type ?? '')
      .split(',')
      .join(' or ');
    return `${shown} must be ${wanted}`;
  }
  return errors[0]?.message ?? 'is invalid';
}

function valueAtPointer(root: unknown, pointer: string): unknown {
  let value = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** Keywords whose value is one subschema, a map of them, or a list of them (draft 2020-12 and 7). */
const ONE_SCHEMA = ['items', 'additionalItems', 'additionalProperties', 'contains', 'not', 'if', 'then', 'else', 'propertyNames'];
const MAP_OF_SCHEMAS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const LIST_OF_SCHEMAS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const ROOT_ID = 'urn:quire:params';

// no strict mode: the schema has passed paramsSchemaProblems already
const defaultsAjv = (() => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, addUsedSchema: false });
  addFormats(ajv);
  return ajv;
})();

/**
 * Every `default` of a (valid) params schema that its own subschema refuses, with the JSON
 * pointer of that subschema: a default is filled in at every trigger that omits the value, so
 * one that breaks its schema would refuse every such trigger. Each subschema is checked in
 * place (the book's schema embedded under an `$id`, reached by `$ref`), so that its `$ref`s
 * resolve as they do at trigger time.
 */
export function paramsDefaultProblems(schema: Record<string, unknown>): ParamsSchemaProblem[] {
  const problems: ParamsSchemaProblem[] = [];
  const { $schema: _draft, ...root } = schema;
  const id = typeof root.$id === 'string' ? root.$id : ROOT_ID;
  for (const { pointer, node } of subschemas(root, '')) {
    if (!('default' in node)) continue;
    const wrapper = { $defs: { book: { ...root, $id: id } }, $ref: `${id}#${pointer.split('/').map(encodeURIComponent).join('/')}` };
    let validate: ValidateFunction;
    try {
      validate = defaultsAjv.compile(wrapper);
    } catch {
      continue; // a reference ajv cannot follow here: left to trigger time
    }
    if (!validate(structuredClone(node.default)))
      problems.push({ pointer, message: (validate.errors ?? []).map(describeError).join('; ') });
  }
  return problems;
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath
    .split('/')
    .slice(1)
    .map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
  const message =
    e.keyword === 'enum'
      ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
      : (e.message ?? 'is invalid');
  return where ? `${where} ${message}` : message;
}

function* subschemas(node: unknown, pointer: string): Generator<{ pointer: string; node: Record<string, unknown> }> {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const schema = node as Record<string, unknown>;
  yield { pointer, node: schema };
  const at = (...keys: Array<string | number>) =>
    `${pointer}/${keys.map((k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  for (const key of ONE_SCHEMA) yield* subschemas(schema[key], at(key));
  for (const key of MAP_OF_SCHEMAS) {
    const map = schema[key];
    if (typeof map === 'object' && map !== null && !Array.isArray(map))
      for (const [name, sub] of Object.entries(map)) yield* subschemas(sub, at(key, name));
  }
  for (const key of LIST_OF_SCHEMAS) {
    const list = schema[key];
    if (Array.isArray(list)) for (const [i, sub] of list.entries()) yield* subschemas(sub, at(key, i));
  }
}
