// BookProblem helpers: how a path is written in messages, how a problem is printed, and the
// order and de-duplication of a list of them.
import type { BookProblem } from './book.types.js';
import type { PathSegment, SourcePosition } from './yaml-locator.js';

/** `['steps', 1, 'on_failure']` → `steps[1].on_failure`; odd keys are quoted: `headers['X Y']`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `['${segment.replace(/'/g, "\\'")}']`;
  }
  return out;
}

/** `file:line:col: message`, with `warning: ` before the message of a warning. */
export function formatProblem(p: BookProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

export function makeProblem(
  file: string,
  pos: SourcePosition,
  path: readonly PathSegment[],
  message: string,
  severity: BookProblem['severity'] = 'error',
): BookProblem {
  return { file, line: pos.line, col: pos.col, field: formatPath(path), message, severity };
}

/** In file order, each distinct (file, line, col, message) once. */
export function sortProblems(problems: readonly BookProblem[]): BookProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.file}\0${p.line}\0${p.col}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

export function hasErrors(problems: readonly BookProblem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** A value as quoted in messages: `'maybe'`, `9`, `[1,2]`. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
