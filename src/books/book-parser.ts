// Reads one YAML file (a book or the inventory) into a plain value, keeping the way back from
// any path in that value to its line and column. Hostile or broken input ends as problems,
// never as a hang or a crash: size, nesting and alias expansion are bounded before anything
// walks the value.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, visit, type Document, type YAMLError } from 'yaml';
import type { BookProblem } from './book.types.js';
import { findDeepValue, scanNestingDepth } from './yaml-depth.js';
import { YamlLocator, type PathSegment, type SourcePosition } from './yaml-locator.js';
import { formatPath } from './problem.js';

export type { PathSegment, SourcePosition } from './yaml-locator.js';

export const YAML_LIMITS = {
  /** books are hand-written; the largest real one is a few KB */
  maxBytes: 1024 * 1024,
  /** a book nests ~6 levels (steps, until, http, headers); JSON Schemas in `params` a few more */
  maxDepth: 64,
  /** the yaml package's own billion-laughs guard, counted in expanded aliases */
  maxAliasCount: 100,
  /** the longest real book has a few dozen steps; 14,500 took a validation thread 12 s (issue 8) */
  maxSteps: 1000,
} as const;

export interface ParsedYaml {
  file: string;
  /** the parsed value; undefined when `problems` holds an error */
  value: unknown;
  problems: BookProblem[];
  locate(path: readonly PathSegment[], at?: 'key' | 'value'): SourcePosition;
  locateInScalar(path: readonly PathSegment[], templateLine: number, templateCol: number): SourcePosition;
}

export function parseYamlWithLocations(file: string, source: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const refused = refuseEarly(file, source);
  if (refused) return result(file, undefined, [refused], undefined);
  const doc = parseDocument(source, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: true });
  const locator = new YamlLocator(doc, lineCounter, source);
  const problems = afterTabIndent([
    ...doc.errors.map((e) => ({ code: e.code, problem: yamlProblem(file, source, e, 'error') })),
    ...doc.warnings.map((e) => ({ code: e.code, problem: yamlProblem(file, source, e, 'warning') })),
  ]);
  if (problems.some((p) => p.severity === 'error')) return result(file, undefined, problems, locator);
  const notMapping = topLevelProblem(file, doc, locator);
  if (notMapping) return result(file, undefined, [...problems, notMapping], locator);
  const converted = convert(file, doc, locator);
  problems.push(...converted.problems);
  return result(file, converted.value, problems, locator);
}

function result(file: string, value: unknown, problems: BookProblem[], locator: YamlLocator | undefined): ParsedYaml {
  const failed = problems.some((p) => p.severity === 'error');
  return {
    file,
    value: failed ? undefined : value,
    problems,
    locate: (path, at) => locator?.locate(path, at) ?? { line: 1, col: 1 },
    locateInScalar: (path, line, col) => locator?.locateInScalar(path, line, col) ?? { line: 1, col: 1 },
  };
}

/** Size and nesting, checked on the raw text before the (recursive) composer sees it. */
function refuseEarly(file: string, source: string): BookProblem | undefined {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > YAML_LIMITS.maxBytes) {
    return fileProblem(file, { line: 1, col: 1 }, `file too large: ${bytes} bytes, the limit is ${YAML_LIMITS.maxBytes} (1 MiB)`);
  }
  const deep = scanNestingDepth(source, YAML_LIMITS.maxDepth);
  if (deep) return fileProblem(file, deep, `nesting deeper than ${YAML_LIMITS.maxDepth} levels`);
  return undefined;
}

function topLevelProblem(file: string, doc: Document, locator: YamlLocator): BookProblem | undefined {
  const top = doc.contents;
  if (isMap(top)) return undefined;
  const got = top === null || (isScalar(top) && top.value === null) ? 'an empty document' : isSeq(top) ? 'a list' : 'a single value';
  return fileProblem(file, locator.locate([]), `the top level must be a mapping of keys (got ${got})`);
}

function convert(file: string, doc: Document, locator: YamlLocator): { value?: unknown; problems: BookProblem[] } {
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (e) {
    return { problems: [fileProblem(file, firstAlias(doc, locator), conversionMessage(e))] };
  }
  const deep = findDeepValue(value, YAML_LIMITS.maxDepth);
  if (!deep) return { value, problems: [] };
  const message =
    deep.kind === 'cycle'
      ? `recursive alias at ${formatPath(deep.path)}: a value cannot contain itself`
      : `nesting deeper than ${YAML_LIMITS.maxDepth} levels at ${formatPath(deep.path)}`;
  return { problems: [{ ...fileProblem(file, locator.locate(deep.path), message), field: formatPath(deep.path) }] };
}

function conversionMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/alias count/i.test(message)) return `too many aliases: expanding them goes past ${YAML_LIMITS.maxAliasCount} (an alias bomb?)`;
  if (e instanceof RangeError) return `nesting deeper than ${YAML_LIMITS.maxDepth} levels`;
  return `cannot read the YAML: ${message}`;
}

/** Where to point for an alias problem: the first `*alias` in the file. */
function firstAlias(doc: Document, locator: YamlLocator): SourcePosition {
  let offset: number | undefined;
  // recursion in visit() is safe here: refuseEarly() has bounded the nesting
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? locator.locate([]) : locator.offsetPosition(offset);
}

/**
 * From the first tab used as indentation on, the parser reads the rest of the file with the
 * wrong structure, so its other complaints there (a key "twice", compact mappings) are
 * consequences, not mistakes: only the tab lines are kept from that line on.
 */
function afterTabIndent(found: Array<{ code: YAMLError['code']; problem: BookProblem }>): BookProblem[] {
  const tabLines = found.filter((f) => f.code === 'TAB_AS_INDENT').map((f) => f.problem.line);
  if (tabLines.length === 0) return found.map((f) => f.problem);
  const firstTab = Math.min(...tabLines);
  return found.filter((f) => f.code === 'TAB_AS_INDENT' || f.problem.line < firstTab).map((f) => f.problem);
}

function yamlProblem(file: string, source: string, e: YAMLError, severity: 'error' | 'warning'): BookProblem {
  const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
  return { file, line: pos.line, col: pos.col, field: '', message: yamlMessage(source, e), severity };
}

function yamlMessage(source: string, e: YAMLError): string {
  const first = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return `duplicate key '${keyAt(source, e.pos[0])}': keys must be unique`;
    case 'MULTIPLE_DOCS':
      return 'one YAML document per file: remove the second document (after ---)';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation: YAML indents with spaces only';
    default:
      return `YAML syntax error: ${first}`;
  }
}

/** The key written at `offset`, for the duplicate-key message. */
function keyAt(source: string, offset: number): string {
  const rest = source.slice(offset, offset + 200);
  const m = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^:\n#]*?))\s*:/.exec(rest);
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? rest.split('\n')[0] ?? '').trim();
}

function fileProblem(file: string, pos: SourcePosition, message: string): BookProblem {
  return { file, line: pos.line, col: pos.col, field: '', message, severity: 'error' };
}
