// Nesting guards. The `yaml` composer and `toJS` recurse once per nesting level, so a
// pathological file (`[[[[...` 100,000 deep: 200 KB) would exhaust the stack; the library
// catches that, but only after ~0.5 s, with a message that helps nobody. We refuse such files
// before composing, from the lexer's token stream, which is flat and streams: the scan stops
// at the first token past the limit, so a 100,000-deep bracket bomb is refused in ~3 ms.
import { CST, Lexer } from 'yaml';

export interface DepthHit {
  line: number;
  col: number;
}

/** Tokens the lexer emits as markers; they take no room in the source. */
const ZERO_WIDTH = new Set(['\x02', '\x18', '\x1f', '\ufeff']);

/**
 * First position where nesting goes deeper than `max`, estimated from tokens: flow brackets
 * count exactly; block collections are tracked by the column of their entries (`-`, `?`,
 * `key:`), each entry closing the entries at its column or to its right. The block count can
 * come out lower than the truth (a sequence written at its parent key's column), never higher,
 * so this never refuses a sane file; `findDeepValue` gives the exact verdict after composing.
 */
export function scanNestingDepth(source: string, max: number): DepthHit | undefined {
  const cursor = { line: 1, col: 1 };
  const blockCols: number[] = [];
  let flow = 0;
  let keyCol: number | undefined; // where the scalar that may turn out to be a `key:` began
  for (const token of new Lexer().lex(source)) {
    const type = CST.tokenType(token);
    const col = cursor.col;
    advance(cursor, token);
    if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    else if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    else if (flow === 0 && (type === 'seq-item-ind' || type === 'explicit-key-ind')) openBlockEntry(blockCols, col);
    else if (flow === 0 && type === 'map-value-ind' && keyCol !== undefined) openBlockEntry(blockCols, keyCol);
    if (type === 'scalar' || type === 'single-quoted-scalar' || type === 'double-quoted-scalar') keyCol = col;
    else if (type !== null && type !== 'space') keyCol = undefined; // null: the text of a plain scalar
    if (blockCols.length + flow > max) return { line: cursor.line, col };
  }
  return undefined;
}

function openBlockEntry(blockCols: number[], col: number): void {
  while (blockCols.length > 0 && (blockCols[blockCols.length - 1] ?? 0) >= col) blockCols.pop();
  blockCols.push(col);
}

function advance(cursor: { line: number; col: number }, token: string): void {
  if (ZERO_WIDTH.has(token)) return;
  const lastNewline = token.lastIndexOf('\n');
  if (lastNewline < 0) {
    cursor.col += token.length;
    return;
  }
  for (let i = 0; i <= lastNewline; i++) if (token.charCodeAt(i) === 10) cursor.line++;
  cursor.col = token.length - lastNewline;
}

export type DeepValue = { kind: 'too-deep' | 'cycle'; path: Array<string | number> };

/**
 * Exact check on the converted value, without recursion: the first path deeper than `max`,
 * or one that leads back into itself (`&a [*a]` converts to a circular array, which would
 * hang anything that walks it).
 */
export function findDeepValue(value: unknown, max: number): DeepValue | undefined {
  const onPath = new Set<object>();
  const stack: Array<{ value: unknown; path: Array<string | number>; exit?: boolean }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (typeof frame.value !== 'object' || frame.value === null) continue;
    if (frame.exit) {
      onPath.delete(frame.value);
      continue;
    }
    if (onPath.has(frame.value)) return { kind: 'cycle', path: frame.path };
    if (frame.path.length >= max) return { kind: 'too-deep', path: frame.path };
    onPath.add(frame.value);
    stack.push({ value: frame.value, path: frame.path, exit: true });
    for (const [key, child] of entries(frame.value)) stack.push({ value: child, path: [...frame.path, key] });
  }
  return undefined;
}

function entries(value: object): Array<[string | number, unknown]> {
  if (Array.isArray(value)) return value.map((v, i) => [i, v]);
  return Object.entries(value);
}
