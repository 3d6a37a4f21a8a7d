// Request bodies are checked against small JSON Schemas; every problem is reported at once.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ErrorCode, QuireError, type ErrorDetail } from './errors.js';

const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
const cache = new WeakMap<object, ValidateFunction>();

export function describeAjvError(error: ErrorObject, root?: string): ErrorDetail {
  const segments = [root, ...error.instancePath.split('/').slice(1)].filter((s): s is string => !!s);
  const join = (extra?: string) => [...segments, extra].filter(Boolean).join('.');
  if (error.keyword === 'additionalProperties') {
    const field = join((error.params as { additionalProperty: string }).additionalProperty);
    return { field, message: `${field}: unknown field` };
  }
  if (error.keyword === 'required') {
    const field = join((error.params as { missingProperty: string }).missingProperty);
    return { field, message: `${field}: is required` };
  }
  const field = join() || '(body)';
  return { field, message: `${field}: ${error.message ?? 'is invalid'}` };
}

export function checkInput<T>(schema: object, value: unknown, what = 'request body'): T {
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    cache.set(schema, validate);
  }
  if (!validate(value)) {
    const details = (validate.errors ?? []).map((e) => describeAjvError(e));
    throw new QuireError(ErrorCode.InvalidInput, `invalid ${what}: ${details.map((d) => d.message).join('; ')}`, details);
  }
  return value as T;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID_PATTERN.test(value);
