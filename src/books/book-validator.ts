// Book validation, in two phases (STYLE.md habit 5, as Kestra does it): the JSON Schema for
// shape, then the checks a schema cannot express. Every problem is collected and located
// (file, line, column, field) before anything is reported.
import type { Book, BookProblem, ValidationContext } from './book.types.js';
import { parseYamlWithLocations, YAML_LIMITS, type ParsedYaml } from './book-parser.js';
import { bookSchemaValidator } from './book-schema.js';
import { checkSemantics } from './book-semantics.js';
import { checkTemplates } from './book-templates.js';
import { checkLinkParams } from './book-links.js';
import { checkEstimateBy } from './estimate-by.js';
import { contentHash } from './canonical-json.js';
import { hasErrors, makeProblem, sortProblems } from './problem.js';
import { translateSchemaErrors } from './schema-errors.js';
import { SemanticContext, isRecord } from './semantic-context.js';

export { formatProblem } from './problem.js';
export { resolveStepPolicy, stepWithDefaults } from './step-policy.js';

export interface BookValidation {
  /** set only when there is no error (warnings allowed) */
  book?: Book;
  /** sha256 hex of the book's canonical JSON: layout and comments do not change it */
  hash?: string;
  problems: BookProblem[];
}

export interface ValidBook {
  file: string;
  book: Book;
  hash: string;
}

export function validateBookSource(file: string, source: string, ctx: ValidationContext): BookValidation {
  const { parsed, problems } = analyzeBook(file, source, ctx);
  return finish(parsed, problems);
}

/**
 * Validates the books of one directory together: besides each book's own problems, a `name`
 * or a (`kind`, `action`) pair used twice is reported in both files, and neither book is
 * returned, since the engine could not tell which one is meant.
 */
export function validateBookSet(
  files: ReadonlyArray<{ file: string; source: string }>,
  ctx: ValidationContext,
): { books: ValidBook[]; problems: BookProblem[] } {
  const analyses = files.map(({ file, source }) => analyzeBook(file, source, ctx));
  reportDuplicates(analyses, (b) =>
    typeof b.name === 'string' ? { key: b.name, path: ['name'], what: `book name '${b.name}'` } : undefined,
  );
  reportDuplicates(analyses, (b) =>
    typeof b.kind === 'string' && typeof b.action === 'string'
      ? { key: `${b.kind}\0${b.action}`, path: ['action'], what: `action '${b.action}' for kind '${b.kind}'` }
      : undefined,
  );
  checkLinkParams(analyses.map((a) => ({ file: a.parsed.file, value: a.parsed.value, locate: a.parsed.locate.bind(a.parsed), problems: a.problems })));
  const books: ValidBook[] = [];
  const problems: BookProblem[] = [];
  for (const a of analyses) {
    const result = finish(a.parsed, a.problems);
    problems.push(...result.problems);
    if (result.book && result.hash) books.push({ file: a.parsed.file, book: result.book, hash: result.hash });
  }
  return { books, problems: sortProblems(problems) };
}

interface BookAnalysis {
  parsed: ParsedYaml;
  problems: BookProblem[];
}

function analyzeBook(file: string, source: string, ctx: ValidationContext): BookAnalysis {
  const parsed = parseYamlWithLocations(file, source);
  const value = parsed.value;
  if (!isRecord(value)) return { parsed, problems: [...parsed.problems] };
  // Before the costly phases: a book past the step limit is refused for that alone.
  if (Array.isArray(value.steps) && value.steps.length > YAML_LIMITS.maxSteps) {
    const message = `too many steps: ${value.steps.length}, the limit is ${YAML_LIMITS.maxSteps}`;
    return { parsed, problems: [...parsed.problems, makeProblem(file, parsed.locate(['steps'], 'key'), ['steps'], message)] };
  }
  // phase 1: shape
  const validateShape = bookSchemaValidator();
  const valid = validateShape(value);
  const { problems: shapeProblems, blocked } = valid
    ? { problems: [], blocked: [] }
    : translateSchemaErrors(parsed, value, validateShape.errors ?? []);
  // phase 2: meaning, on whatever phase 1 did not reject
  const semantic = new SemanticContext(value, ctx, parsed, blocked);
  checkSemantics(semantic);
  checkTemplates(semantic);
  checkEstimateBy(semantic);
  return { parsed, problems: [...parsed.problems, ...shapeProblems, ...semantic.problems] };
}

function finish(parsed: ParsedYaml, problems: BookProblem[]): BookValidation {
  const sorted = sortProblems(problems);
  if (hasErrors(sorted) || !isRecord(parsed.value)) return { problems: sorted };
  return { book: parsed.value as unknown as Book, hash: contentHash(parsed.value), problems: sorted };
}

type DuplicateKey = { key: string; path: string[]; what: string } | undefined;

function reportDuplicates(analyses: BookAnalysis[], keyOf: (book: Record<string, unknown>) => DuplicateKey): void {
  const byKey = new Map<string, BookAnalysis[]>();
  for (const a of analyses) {
    const k = isRecord(a.parsed.value) ? keyOf(a.parsed.value) : undefined;
    if (k) byKey.set(k.key, [...(byKey.get(k.key) ?? []), a]);
  }
  for (const group of byKey.values()) {
    if (group.length < 2) continue;
    for (const a of group) {
      const k = keyOf(a.parsed.value as Record<string, unknown>)!;
      const others = group.filter((o) => o !== a).map((o) => `${o.parsed.file}:${o.parsed.locate(k.path).line}`);
      a.problems.push(makeProblem(a.parsed.file, a.parsed.locate(k.path), k.path, `duplicate ${k.what}: also in ${listSome(others)}`));
    }
  }
}

/** How many other files a duplicate names; with 20 copies, each line listing 19 is noise. */
const MAX_LISTED = 3;

function listSome(items: readonly string[]): string {
  if (items.length <= MAX_LISTED) return items.join(', ');
  return `${items.slice(0, MAX_LISTED).join(', ')}, ... and ${items.length - MAX_LISTED} more`;
}
