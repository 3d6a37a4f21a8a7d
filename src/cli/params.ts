// `--param key=value` pairs, typed by the book's `params` schema where it declares the key:
// `replicas=2` becomes the integer 2 for an integer parameter, but `version=15` stays the string
// "15" for a string one.
export function parseParamArgs(pairs: string[], schema?: { properties?: Record<string, { type?: string | string[] }> }): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--param expects key=value (got '${pair}')`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const declared = schema?.properties?.[key]?.type;
    const types = Array.isArray(declared) ? declared : declared ? [declared] : [];
    params[key] = types.length === 1 && types[0] === 'string' ? raw : typed(raw, types);
  }
  return params;
}

function typed(raw: string, types: string[]): unknown {
  try {
    const value: unknown = JSON.parse(raw);
    if (types.length === 0 || types.some((t) => matches(value, t))) return value;
  } catch {
    // not JSON: a plain string
  }
  return raw;
}

function matches(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return false;
  }
}
