// Maps paths in the parsed value back to positions in the YAML file, so that every problem
// can be reported as `file:line:col`. Works on the composed Document (which keeps source
// ranges), never on the plain JS value.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;

export interface SourcePosition {
  line: number;
  col: number;
}

interface Found {
  /** the deepest node reached along the path (the whole path when `complete`) */
  node: Node | null;
  /** the key of the last map entry walked through, if any */
  key: Node | null;
  complete: boolean;
}

export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly source: string,
  ) {}

  /**
   * Position of the value at `path` (`at: 'value'`) or of its key (`at: 'key'`: for problems
   * with the key itself, such as an unknown key). A path that does not exist in the file
   * (a missing key, a value that came from a merge key) falls back to its nearest ancestor.
   */
  locate(path: readonly PathSegment[], at: 'key' | 'value' = 'value'): SourcePosition {
    const found = this.walk(path);
    const atKey = at === 'key' && found.complete;
    const node = atKey ? (found.key ?? found.node) : (usable(found.node) ?? found.key);
    return this.position(node);
  }

  /**
   * Position in the file of (templateLine, templateCol), 1-based inside the text of the string
   * scalar at `path`. Anchored on the nearest `{{` before the position, found again in the
   * scalar's raw source, which makes it exact across quotes, escapes and block scalars; when
   * that fails, falls back to counting from where the text starts (good to ±1 line).
   */
  locateInScalar(path: readonly PathSegment[], templateLine: number, templateCol: number): SourcePosition {
    const found = this.walk(path);
    const node = found.node;
    if (!found.complete || !isScalar(node) || typeof node.value !== 'string' || !node.range) return this.locate(path);
    const text = node.value;
    const offset = offsetOf(text, templateLine, templateCol);
    const [start, end] = node.range;
    const raw = this.source.slice(start, end);
    const anchored = anchorOffset(text, raw, offset);
    if (anchored !== undefined) return this.at(start + anchored);
    return this.approximate(node.type, start, templateLine, templateCol);
  }

  private walk(path: readonly PathSegment[]): Found {
    let node: Node | null = this.resolve(this.doc.contents as Node | null);
    let key: Node | null = null;
    for (const segment of path) {
      const next = this.child(node, segment);
      if (!next) return { node, key, complete: false };
      node = next.node;
      key = next.key ?? null;
    }
    return { node, key, complete: true };
  }

  private child(node: Node | null, segment: PathSegment): { node: Node | null; key?: Node } | undefined {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
      if (!pair) return undefined;
      return { node: this.resolve(pair.value as Node | null), key: pair.key as Node };
    }
    if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      return item === undefined ? undefined : { node: this.resolve(item as Node | null) };
    }
    return undefined;
  }

  private resolve(node: Node | null): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? node;
    return node;
  }

  private position(node: Node | null): SourcePosition {
    if (!node?.range) return { line: 1, col: 1 };
    return this.at(node.range[0]);
  }

  /** Position of a character offset in the source. */
  offsetPosition(offset: number): SourcePosition {
    return this.at(offset);
  }

  private at(offset: number): SourcePosition {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, col };
  }

  private approximate(type: string | undefined, start: number, templateLine: number, templateCol: number): SourcePosition {
    const head = this.at(start);
    if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
      const line = head.line + templateLine;
      return { line, col: this.indentOf(line) + templateCol };
    }
    const quote = type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE' ? 1 : 0;
    if (templateLine === 1) return { line: head.line, col: head.col + quote + templateCol - 1 };
    return { line: head.line + templateLine - 1, col: this.indentOf(head.line + templateLine - 1) + templateCol };
  }

  /** Leading spaces of a 1-based line of the source. */
  private indentOf(line: number): number {
    const starts = this.lineCounter.lineStarts;
    const from = starts[line - 1];
    if (from === undefined) return 0;
    let i = from;
    while (this.source[i] === ' ') i++;
    return i - from;
  }
}

/** A node that has a position worth pointing at (an empty value has none of its own). */
function usable(node: Node | null): Node | null {
  if (!node?.range) return null;
  if (isScalar(node) && node.value === null && node.range[0] === node.range[1]) return null;
  return node;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

/** 0-based offset in `text` of a 1-based (line, col); clamped to the text. */
export function offsetOf(text: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return Math.min(text.length, offset + Math.max(0, col - 1));
}

/**
 * Offset in `raw` (the scalar as written) of `offset` in `text` (its value), through the
 * nearest preceding `{{`: the k-th `{{` of the value is the k-th `{{` of the source unless an
 * escape produced one, which no sane book does. Undefined when the counts do not line up or
 * a line break lies between the anchor and the position (folding changes line breaks).
 */
function anchorOffset(text: string, raw: string, offset: number): number | undefined {
  const anchor = text.lastIndexOf('{{', offset);
  if (anchor < 0) return undefined;
  const delta = offset - anchor;
  if (text.slice(anchor, offset).includes('\n')) return undefined;
  let k = 0;
  for (let i = text.indexOf('{{'); i >= 0 && i < anchor; i = text.indexOf('{{', i + 2)) k++;
  let at = raw.indexOf('{{');
  for (let i = 0; i < k && at >= 0; i++) at = raw.indexOf('{{', at + 2);
  if (at < 0) return undefined;
  const rawSegment = raw.slice(at, at + delta);
  return rawSegment.length === delta && !rawSegment.includes('\n') ? at + delta : undefined;
}
