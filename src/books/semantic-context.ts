// Shared by the phase-2 checks: the parsed book, which of its parts phase 1 found misshapen
// (those are left alone, so one mistake is reported once), and where problems go.
import type { BookProblem, ValidationContext } from './book.types.js';
import type { ParsedYaml, PathSegment, SourcePosition } from './book-parser.js';
import { makeProblem } from './problem.js';

export type RawRecord = Record<string, unknown>;

export class SemanticContext {
  readonly problems: BookProblem[] = [];

  constructor(
    readonly book: RawRecord,
    readonly ctx: ValidationContext,
    readonly parsed: ParsedYaml,
    private readonly blocked: readonly PathSegment[][],
  ) {}

  /** True when phase 1 found nothing wrong at, above or below any of these paths. */
  usable(...paths: PathSegment[][]): boolean {
    return paths.every((path) => !this.blocked.some((b) => isPrefix(b, path) || isPrefix(path, b)));
  }

  error(path: PathSegment[], message: string, at: 'key' | 'value' = 'value'): void {
    this.problems.push(makeProblem(this.parsed.file, this.parsed.locate(path, at), path, message));
  }

  warn(path: PathSegment[], message: string, at: 'key' | 'value' = 'value'): void {
    this.problems.push(makeProblem(this.parsed.file, this.parsed.locate(path, at), path, message, 'warning'));
  }

  /** A problem at an exact position (inside a template). */
  at(pos: SourcePosition, path: PathSegment[], message: string, severity: BookProblem['severity']): void {
    this.problems.push(makeProblem(this.parsed.file, pos, path, message, severity));
  }

  /** The steps that are mappings, with their index. */
  steps(): Array<[number, RawRecord]> {
    const steps = this.book.steps;
    if (!Array.isArray(steps)) return [];
    return steps.flatMap((s, i): Array<[number, RawRecord]> => (isRecord(s) ? [[i, s]] : []));
  }

  /** The step-like objects: every step, and `defaults` under the path ['defaults']. */
  stepLikes(): Array<[PathSegment[], RawRecord]> {
    const out: Array<[PathSegment[], RawRecord]> = this.steps().map(([i, s]) => [['steps', i], s]);
    if (isRecord(this.book.defaults)) out.push([['defaults'], this.book.defaults]);
    return out;
  }
}

function isPrefix(prefix: readonly PathSegment[], path: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}

export function isRecord(value: unknown): value is RawRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
