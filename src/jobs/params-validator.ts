// A book's `params` is a JSON Schema (draft 2020-12): triggers are checked against it, with
// defaults filled in and every error listed. Compiled schemas are cached by book version.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { ErrorCode, QuireError } from '../common/errors.js';
import { describeAjvError } from '../common/input.js';

const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
const compiled = new Map<string, ValidateFunction>();

export function validateParams(cacheKey: string, schema: Record<string, unknown> | undefined, input: unknown): Record<string, unknown> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new QuireError(ErrorCode.InvalidParams, 'params must be an object', [{ field: 'params', message: 'params must be an object', value: input }]);
  }
  // Defaults are written into the value, so work on a copy of the caller's input.
  const params = structuredClone((input ?? {}) as Record<string, unknown>);
  if (!schema) return params;
  let validate = compiled.get(cacheKey);
  if (!validate) {
    validate = ajv.compile({ type: 'object', ...schema });
    if (compiled.size > 500) compiled.delete(compiled.keys().next().value!);
    compiled.set(cacheKey, validate);
  }
  if (!validate(params)) {
    const details = (validate.errors ?? []).map((e) => ({ ...describeAjvError(e, 'params'), value: valueAt(params, e.instancePath) }));
    throw new QuireError(ErrorCode.InvalidParams, `invalid params: ${details.map((d) => d.message).join('; ')}`, details);
  }
  return params;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
