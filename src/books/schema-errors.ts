// Turns ajv's errors into problems a book author can act on: named field, bad value, the
// allowed values, located at the key (unknown keys) or at the value (everything else).
import { STEP_KINDS, type BookProblem } from './book.types.js';
import type { SchemaError } from './book-schema.js';
import { parseDuration } from './duration.js';
import { formatPath, makeProblem, showValue } from './problem.js';
import type { ParsedYaml, PathSegment } from './book-parser.js';

export interface TranslatedErrors {
  problems: BookProblem[];
  /** paths whose shape is wrong; phase 2 leaves them (and what is under them) alone */
  blocked: PathSegment[][];
}

interface Translation {
  path: PathSegment[];
  at: 'key' | 'value';
  message: string;
  /** the path phase 2 must skip; defaults to `path` */
  blocks?: PathSegment[];
}

export function translateSchemaErrors(
  parsed: ParsedYaml,
  data: unknown,
  errors: readonly SchemaError[],
  subject = 'the book',
): TranslatedErrors {
  const problems: BookProblem[] = [];
  const blocked: PathSegment[][] = [];
  for (const error of errors) {
    const path = pointerToPath(error.instancePath, data);
    const t = translate(error, path, subject);
    problems.push(makeProblem(parsed.file, parsed.locate(t.path, t.at), t.path, t.message));
    blocked.push(t.blocks ?? t.path);
  }
  return { problems, blocked };
}

function translate(e: SchemaError, path: PathSegment[], subject: string): Translation {
  const field = formatPath(path);
  const params = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  if (e.propertyName !== undefined || e.keyword === 'propertyNames') {
    const name = e.propertyName ?? String(params.propertyName);
    return {
      path: [...path, name],
      at: 'key',
      message: `${field}: '${name}' is not a valid name (letters, digits and _, not starting with a digit)`,
    };
  }
  if (e.schemaPath.startsWith('#/$defs/duration/')) return { path, at: 'value', message: durationMessage(field, e.data) };
  switch (e.keyword) {
    case 'additionalProperties':
      return unknownKey(path, String(params.additionalProperty), parent);
    case 'required':
      return missingKey(path, String(params.missingProperty), e.data, subject);
    case 'discriminator':
      return badKind(path, params, e.data, subject);
    default:
      return { path, at: 'value', message: valueMessage(e, field || subject, params, parent) };
  }
}

function valueMessage(e: SchemaError, field: string, params: Record<string, unknown>, parent: Record<string, unknown>): string {
  const got = `(got ${showValue(e.data)})`;
  switch (e.keyword) {
    case 'enum':
      return `${field} must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')} ${got}`;
    case 'const':
      return `${field} must be ${showValue(params.allowedValue)} ${got}`;
    case 'type':
      return typeMessage(field, String(params.type), e.data);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${field} must be ${String(params.comparison)} ${String(params.limit)} ${got}`;
    case 'pattern':
      return `${field} ${patternHint(parent)} ${got}`;
    case 'format':
      return `${field} must be a valid ${String(params.format)} ${got}`;
    case 'minLength':
      return `${field} must not be empty`;
    case 'minItems':
      return field === 'steps' ? 'steps must list at least one step' : `${field} must list at least ${String(params.limit)} item(s)`;
    case 'uniqueItems':
      return `${field} lists ${showValue((e.data as unknown[])[Number(params.j)])} twice`;
    case 'minProperties':
    case 'maxProperties':
      return propertiesCount(field, parent, e);
    default:
      return `${field} ${e.message ?? 'is invalid'}`;
  }
}

function unknownKey(path: PathSegment[], key: string, parent: Record<string, unknown>): Translation {
  const where = path.length > 0 ? ` in ${formatPath(path)}` : '';
  const allowed = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
  const near = closest(key, allowed);
  const hint = near ? ` (did you mean '${near}'?)` : '';
  return { path: [...path, key], at: 'key', message: `unknown key '${key}'${where}${hint}` };
}

function missingKey(path: PathSegment[], key: string, data: unknown, subject: string): Translation {
  const blocks = [...path, key];
  if (isStepPath(path) && key === 'kind') return { path, at: 'value', blocks, message: missingKindMessage(path, data) };
  return { path, at: 'value', blocks, message: `${describe(path, data, subject)} is missing '${key}'` };
}

function badKind(path: PathSegment[], params: Record<string, unknown>, data: unknown, subject: string): Translation {
  const kind = (data as Record<string, unknown> | null)?.kind;
  const blocks = [...path, 'kind'];
  if (params.error === 'mapping' || kind !== undefined) {
    const message = `${formatPath(blocks)} must be one of ${STEP_KINDS.join(', ')} (got ${showValue(kind)})`;
    return { path: blocks, at: 'value', blocks, message };
  }
  return {
    path,
    at: 'value',
    blocks,
    message: isStepPath(path) ? missingKindMessage(path, data) : `${describe(path, data, subject)} is missing 'kind'`,
  };
}

function missingKindMessage(path: PathSegment[], data: unknown): string {
  return `${describe(path, data, 'the book')} is missing 'kind' (one of ${STEP_KINDS.join(', ')})`;
}

/** `step 'a' (steps[0])` for a step, else the path, else the subject (the book itself). */
function describe(path: PathSegment[], data: unknown, subject: string): string {
  if (path.length === 0) return subject;
  const name = (data as Record<string, unknown> | null)?.name;
  if (isStepPath(path) && typeof name === 'string') return `step '${name}' (${formatPath(path)})`;
  return formatPath(path);
}

function isStepPath(path: PathSegment[]): boolean {
  return path.length === 2 && path[0] === 'steps' && typeof path[1] === 'number';
}

function durationMessage(field: string, value: unknown): string {
  if (typeof value !== 'number' && typeof value !== 'string') {
    return `${field} must be a duration: seconds as a number, or e.g. 30s, 5m, 1h, 500ms, 1m30s (got ${value === null ? 'nothing' : showValue(value)})`;
  }
  try {
    parseDuration(value as number | string);
    return `${field} must be a duration (got ${showValue(value)})`;
  } catch (e) {
    return `${field}: ${(e as Error).message}`;
  }
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  null: 'empty',
};

function typeMessage(field: string, types: string, value: unknown): string {
  const wanted = types
    .split(',')
    .map((t) => TYPE_NAMES[t] ?? t)
    .join(' or ');
  const quote = types === 'string' && (typeof value === 'number' || typeof value === 'boolean') ? `; quote it: "${String(value)}"` : '';
  return `${field} must be ${wanted} (got ${value === null ? 'nothing' : showValue(value)})${quote}`;
}

function patternHint(parent: Record<string, unknown>): string {
  const hint = parent.patternErrorMessage;
  if (typeof hint !== 'string') return `must match ${String(parent.pattern)}`;
  return hint.charAt(0).toLowerCase() + hint.slice(1).replace(/\.$/, '');
}

function propertiesCount(field: string, parent: Record<string, unknown>, e: SchemaError): string {
  const keys = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
  if (parent.minProperties === 1 && parent.maxProperties === 1 && keys.length > 0) {
    return `${field} must set exactly one of ${keys.join(', ')}`;
  }
  return `${field} ${e.message ?? 'has the wrong number of keys'}`;
}

/** JSON pointer → path, with array indexes as numbers (as the data has them). */
export function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let current: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key: PathSegment = Array.isArray(current) ? Number(segment) : segment;
    path.push(key);
    current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[String(key)] : undefined;
  }
  return path;
}

/** The allowed key closest to a misspelt one, for "did you mean": about one edit per two letters. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 2)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
