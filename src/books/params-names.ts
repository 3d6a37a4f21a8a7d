// Which parameter names a book's `params` schema declares. A parameter it does not declare is
// refused when the book is triggered (jobs/params-validator.ts), flagged when another book's
// chain link or trigger step passes it (book-links.ts), and unknown to templates.

/** Keywords whose subschemas describe the same object, so their `properties` count as declared. */
const SAME_OBJECT = ['allOf', 'anyOf', 'oneOf', 'if', 'then', 'else'] as const;

/**
 * The names the schema declares, or undefined when it admits others on purpose: it sets
 * `additionalProperties` (to anything but false), `unevaluatedProperties` or
 * `patternProperties` itself (then the schema decides), or there is no schema.
 */
export function declaredParamNames(schema: unknown): ReadonlySet<string> | undefined {
  if (!isRecord(schema)) return undefined;
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) return undefined;
  if (schema.unevaluatedProperties !== undefined || schema.patternProperties !== undefined) return undefined;
  const names = new Set<string>();
  collect(schema, names, 0);
  return names;
}

function collect(schema: Record<string, unknown>, names: Set<string>, depth: number): void {
  if (isRecord(schema.properties)) for (const name of Object.keys(schema.properties)) names.add(name);
  // a schema nests as deep as its YAML allows; compositions of compositions past a few levels are not worth following
  if (depth > 8) return;
  for (const keyword of SAME_OBJECT) {
    const value = schema[keyword];
    for (const sub of Array.isArray(value) ? value : [value]) if (isRecord(sub)) collect(sub, names, depth + 1);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
