// Input no handler should ever see: a NUL byte, which PostgreSQL refuses in text and jsonb (the
// query failed, the API answered 500 and the log showed the query's parameters, issue 8), and
// JSON nested so deep that code walking it recursively (validation, templates, jsonb) runs out of
// stack or time. Checked once at the edge for every path, query and body, without recursion.
import type { ErrorDetail } from './errors.js';

/** Deep enough for any parameter or book a person writes; 5,000 levels is an attack. */
export const MAX_INPUT_DEPTH = 64;
const MAX_PROBLEMS = 10;

/** Every NUL byte (in a string or a key) and every branch nested past `maxDepth`, each named by its path under `root`. */
export function unsafeInput(value: unknown, root: string, maxDepth = MAX_INPUT_DEPTH): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value, path: root ? [root] : [] }];
  const depthOf = (path: string[]) => path.length - (root ? 1 : 0);
  while (stack.length && problems.length < MAX_PROBLEMS) {
    const { value: v, path } = stack.pop()!;
    const field = path.join('.') || '(body)';
    if (typeof v === 'string') {
      if (v.includes('\0')) problems.push({ field, message: `${field}: contains a NUL byte (\\u0000), which is not allowed` });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depthOf(path) >= maxDepth) {
      problems.push({ field, message: `${field}: nested more than ${maxDepth} levels deep` });
      continue;
    }
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((item, i) => [String(i), item]) : Object.entries(v);
    // Pushed in reverse so that problems come out in document order.
    for (const [key, item] of entries.reverse()) {
      if (key.includes('\0')) problems.push({ field, message: `${field}: a key contains a NUL byte (\\u0000), which is not allowed` });
      else stack.push({ value: item, path: [...path, key] });
    }
  }
  return problems;
}
