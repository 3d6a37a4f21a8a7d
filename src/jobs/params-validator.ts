// A book's `params` is a JSON Schema (draft 2020-12): triggers are checked against it, with
// defaults filled in and every error listed. Compiled schemas are cached by book version.
// Beyond the schema: a parameter it does not declare is refused (a typo must not deploy the
// default), and so is an integer no JavaScript number holds exactly.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ErrorCode, QuireError, type ErrorDetail } from '../common/errors.js';
import { describeAjvError } from '../common/input.js';
import { declaredParamNames } from '../books/params-names.js';
import { closest } from '../books/schema-errors.js';

const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
const compiled = new Map<string, ValidateFunction>();

export function validateParams(cacheKey: string, schema: Record<string, unknown> | undefined, input: unknown): Record<string, unknown> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new QuireError(ErrorCode.InvalidParams, 'params must be an object', [{ field: 'params', message: 'params must be an object', value: input }]);
  }
  // Defaults are written into the value, so work on a copy of the caller's input.
  const params = structuredClone((input ?? {}) as Record<string, unknown>);
  const details = unsafeIntegers(params);
  if (schema) {
    const declared = declaredParamNames(schema);
    if (declared) details.push(...unknownParams(declared, params));
    let validate = compiled.get(cacheKey);
    if (!validate) {
      validate = ajv.compile({ type: 'object', ...schema });
      if (compiled.size > 500) compiled.delete(compiled.keys().next().value!);
      compiled.set(cacheKey, validate);
    }
    if (!validate(params)) {
      // a root `additionalProperties: false` refusal repeats what unknownParams said
      const errors = (validate.errors ?? []).filter((e) => !(declared && e.keyword === 'additionalProperties' && e.instancePath === ''));
      details.push(...errors.map((e) => describeParamError(e, schema, params)));
    }
  }
  if (details.length) throw new QuireError(ErrorCode.InvalidParams, `invalid params: ${details.map((d) => d.message).join('; ')}`, details);
  return params;
}

/** Names the schema does not declare, each with the declared name it most likely meant. */
function unknownParams(declared: ReadonlySet<string>, params: Record<string, unknown>): ErrorDetail[] {
  return Object.keys(params)
    .filter((name) => !declared.has(name))
    .map((name) => unknownParam(name, [...declared], params[name]));
}

function unknownParam(name: string, declared: string[], value: unknown): ErrorDetail {
  const near = closest(name, declared);
  const hint = near ? `did you mean '${near}'?` : declared.length ? `this action takes ${declared.join(', ')}` : 'this action takes no parameters';
  return { field: `params.${name}`, message: `params.${name}: unknown parameter (${hint})`, value };
}

/** An ajv error as a detail; a root `additionalProperties: false` refusal gets the did-you-mean too. */
function describeParamError(error: ErrorObject, schema: Record<string, unknown>, params: Record<string, unknown>): ErrorDetail {
  if (error.keyword === 'additionalProperties' && error.instancePath === '') {
    const name = (error.params as { additionalProperty: string }).additionalProperty;
    const properties = schema.properties;
    return unknownParam(name, properties && typeof properties === 'object' ? Object.keys(properties) : [], params[name]);
  }
  return { ...describeAjvError(error, 'params'), value: valueAt(params, error.instancePath) };
}

/** `1e400` parses as Infinity, which JSON cannot even store (it would become null). */
const NOT_FINITE = 'number beyond the range of a double; pass it as a string';
const UNSAFE_INTEGER = `integer beyond ±${Number.MAX_SAFE_INTEGER} (2^53 - 1) cannot be kept exactly; pass it as a string`;

/**
 * Integers past 2^53 anywhere in the params. JSON.parse has rounded them by now, but exactly
 * those stay detectable: every integer literal beyond MAX_SAFE_INTEGER rounds to a double of
 * at least 2^53, which is not a safe integer, and every literal within the range is exact. So
 * a parsed value that is an integer and not safe is always a number the caller did not send.
 */
function unsafeIntegers(params: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  // iterative: params may nest deeper than the call stack
  const stack: Array<{ value: unknown; path: string }> = [{ value: params, path: 'params' }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) details.push({ field: path, message: `${path}: ${NOT_FINITE}` });
      else if (Number.isInteger(value) && !Number.isSafeInteger(value)) details.push({ field: path, message: `${path}: ${UNSAFE_INTEGER}` });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: `${path}.${entries[i]![0]}` });
    }
  }
  return details;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
