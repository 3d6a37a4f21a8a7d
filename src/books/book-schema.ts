// The JSON Schemas of books and inventories (schemas/*.schema.json, shared with editors),
// compiled once per process: compiling the book schema takes ~20 ms, validating a book
// with it well under 1 ms.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

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

const schemaAjv = createSchemaAjv();

export const bookSchemaValidator: ValidateFunction = schemaAjv.compile(readSchema('book'));
export const inventorySchemaValidator: ValidateFunction = schemaAjv.compile(readSchema('inventory'));

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
    const unique = new Map<string, ParamsSchemaProblem>();
    for (const e of paramsAjv.errors ?? []) {
      const problem = { pointer: e.instancePath, message: e.message ?? 'is invalid' };
      unique.set(`${problem.pointer} ${problem.message}`, problem);
    }
    return [...unique.values()];
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
