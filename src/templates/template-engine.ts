// The template engine of books (BOOKS.md section 5): Handlebars in one isolated environment,
// strict about missing values, escaping each value for the place it lands (not HTML).
import Handlebars from 'handlebars';

import { internalHelpers, OUTPUT_MARKER_HELPER, type Capture } from './internal-helpers.js';
import { AUTHORED_MARKER, markAuthoredOutputs } from '../steps/output/output-marker.js';
import {
  analyze,
  FORBIDDEN_SEGMENTS,
  parseTemplate,
  SourceText,
  type ContentStatement,
  type MustacheStatement,
  type Program,
} from './template-ast.js';
import { isTruthy, templateHelpers, type TemplateHelper } from './template-helpers.js';
import { TemplateRewriter } from './template-rewrite.js';
import { scanSlots } from './template-slots.js';
import {
  TemplateError,
  TemplateSyntaxError,
  type RenderContext,
  type RenderMode,
  type TemplateIssue,
  type TemplateReference,
} from './template.types.js';

/** How many compiled templates are kept; books hold a few hundred templates at most. */
const CACHE_SIZE = 2000;

const COMPILE_OPTIONS: CompileOptions = {
  // Values are escaped by `__quire_out` for their place; Handlebars' HTML escaping would corrupt them.
  noEscape: true,
  strict: false,
  compat: false,
};

const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
};

interface Compiled {
  template: Handlebars.TemplateDelegate;
  references: TemplateReference[];
}

/** A string leaf that is more than one mustache renders as text, also in `json` mode. */
const NOT_SINGLE = Symbol('not a single mustache');

/** A Map that forgets the least recently used entry beyond its size. */
class BoundedCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly size: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Re-insert: Map keeps insertion order, so the oldest entry comes first.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
  }
}

export class TemplateEngine {
  private readonly env = Handlebars.create();
  private readonly helpers: ReadonlySet<string> = new Set(Object.keys(templateHelpers));
  private readonly cache = new BoundedCache<Compiled | typeof NOT_SINGLE>(CACHE_SIZE);

  constructor() {
    // Handlebars' `log` and `lookup` are not part of the book language (`lookup` reads a key
    // chosen at run time, beyond the strict checks).
    this.env.unregisterHelper('log');
    this.env.unregisterHelper('lookup');
    for (const [name, helper] of Object.entries<TemplateHelper>(templateHelpers)) this.register(name, helper);
    for (const [name, helper] of Object.entries(internalHelpers)) this.register(name, helper as TemplateHelper);
  }

  /** The helpers book authors may call. */
  get helperNames(): string[] {
    return [...this.helpers];
  }

  /** Whether `source` needs rendering at all. */
  hasTemplate(source: string): boolean {
    return source.includes('{{');
  }

  /** Every path the template reads, located at the `{{` of its mustache. */
  references(source: string): TemplateReference[] {
    if (!this.hasTemplate(source)) return [];
    const analysis = analyze(parseTemplate(this.env, source), this.helpers);
    throwFirstError(analysis.forbidden);
    return analysis.references;
  }

  /** The problems of a template as written for `mode`, sorted by place; [] when none. */
  lint(source: string, mode: RenderMode): TemplateIssue[] {
    if (!this.hasTemplate(source)) return [];
    let program: Program;
    try {
      program = parseTemplate(this.env, source);
    } catch (error) {
      // the caller locates the issue; the reason alone avoids a second, inner position
      const { line = 1, col = 1, message } = error as TemplateError;
      return [{ line, col, message: error instanceof TemplateSyntaxError ? error.reason : message, severity: 'error' }];
    }
    const issues = [...analyze(program, this.helpers).issues, ...scanSlots(program, new SourceText(source), mode).issues];
    return issues.sort((a, b) => a.line - b.line || a.col - b.col);
  }

  /**
   * Renders `source` for `mode`. Throws a TemplateError when a path the template reads is
   * missing from `ctx` (naming the path), or when a value cannot stand where it lands.
   */
  render(source: string, ctx: RenderContext, mode: RenderMode, options: RenderOptions = {}): string {
    const { outputToken } = options;
    if (!this.hasTemplate(source)) return outputToken === undefined ? source : markAuthoredOutputs(source, outputToken);
    const marked = outputToken !== undefined && source.includes(AUTHORED_MARKER);
    const compiled = this.compiled(`${mode}${marked ? '\0marked' : ''}\0${source}`, () => this.compileForRender(source, mode, marked));
    assertDefined(compiled.references, ctx);
    return this.run(compiled.template, ctx, marked ? { quireOutputToken: outputToken } : {});
  }

  /**
   * Renders a structured value: objects and arrays deeply (keys are not templated), string
   * leaves as templates. In `json` mode a leaf that is exactly one `{{expr}}` keeps the type of
   * its value (number, boolean, object, array, null).
   */
  renderValue(value: unknown, ctx: RenderContext, mode: RenderMode = 'json'): unknown {
    if (typeof value === 'string') return this.renderLeaf(value, ctx, mode);
    if (Array.isArray(value)) return value.map((item) => this.renderValue(item, ctx, mode));
    if (isPlainObject(value)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.renderValue(item, ctx, mode)]));
    }
    return value;
  }

  /** Truthiness of a rendered `when`; see template-helpers.ts. */
  isTruthy(value: unknown): boolean {
    return isTruthy(value);
  }

  private renderLeaf(source: string, ctx: RenderContext, mode: RenderMode): unknown {
    if (mode !== 'json' || !this.hasTemplate(source)) return this.render(source, ctx, mode);
    const compiled = this.compiled(`value\0${source}`, () => this.compileForCapture(source));
    if (compiled === NOT_SINGLE) return this.render(source, ctx, mode);
    assertDefined(compiled.references, ctx);
    const capture: Capture = { value: undefined };
    this.run(compiled.template, ctx, { quireCapture: capture });
    return copyJson(capture.value);
  }

  private register(name: string, helper: TemplateHelper): void {
    this.env.registerHelper(name, helper as Handlebars.HelperDelegate);
  }

  private compiled<T extends Compiled | typeof NOT_SINGLE>(key: string, compile: () => T): T {
    const cached = this.cache.get(key) as T | undefined;
    if (cached !== undefined) return cached;
    const compiled = compile();
    this.cache.set(key, compiled);
    return compiled;
  }

  /** Parses and checks a template, then rewrites it so each value is escaped for `mode`. */
  private compileForRender(source: string, mode: RenderMode, markOutputs = false): Compiled {
    const { program, references, text } = this.checked(source);
    const scan = scanSlots(program, text, mode);
    throwFirstError(scan.issues);
    new TemplateRewriter(text, this.helpers).forRender(program, mode, scan.urlSlots);
    if (markOutputs) markAuthoredMarkers(program);
    return { template: this.env.compile(program, COMPILE_OPTIONS), references };
  }

  private compileForCapture(source: string): Compiled | typeof NOT_SINGLE {
    const { program, references, text } = this.checked(source);
    const mustache = singleMustache(program);
    if (!mustache) return NOT_SINGLE;
    new TemplateRewriter(text, this.helpers).forCapture(mustache);
    return { template: this.env.compile(program, COMPILE_OPTIONS), references };
  }

  private checked(source: string): { program: Program; references: TemplateReference[]; text: SourceText } {
    const program = parseTemplate(this.env, source);
    const analysis = analyze(program, this.helpers);
    throwFirstError(analysis.issues);
    return { program, references: analysis.references, text: new SourceText(source) };
  }

  private run(template: Handlebars.TemplateDelegate, ctx: RenderContext, data: object): string {
    try {
      return template(ctx, { ...RUNTIME_OPTIONS, data });
    } catch (error) {
      if (error instanceof TemplateError) throw error;
      throw new TemplateError(error instanceof Error ? error.message : String(error));
    }
  }
}

export interface RenderOptions {
  /**
   * A shell step's `run` or `argv`: each `::output ` the author wrote (in the template's text,
   * never in a value) becomes the attempt's tokenised marker (steps/output/output-marker.ts).
   */
  outputToken?: string;
}

/**
 * Splits each text node around the `::output ` it holds, putting the marker helper in its place.
 * Only text nodes are the author's: a value inserted by a mustache cannot produce the marker.
 */
function markAuthoredMarkers(program: Program): void {
  program.body = program.body.flatMap((node): hbs.AST.Statement[] => {
    if (node.type === 'BlockStatement') {
      const block = node as hbs.AST.BlockStatement;
      markAuthoredMarkers(block.program);
      if (block.inverse) markAuthoredMarkers(block.inverse);
      return [node];
    }
    if (node.type !== 'ContentStatement') return [node];
    const content = node as ContentStatement;
    const pieces = content.value.split(AUTHORED_MARKER);
    if (pieces.length === 1) return [node];
    const out: hbs.AST.Statement[] = [];
    pieces.forEach((piece, i) => {
      if (i > 0) out.push(markerNode(content.loc));
      if (piece !== '') out.push({ ...content, value: piece, original: piece } as unknown as ContentStatement);
    });
    return out;
  });
}

function markerNode(loc: hbs.AST.SourceLocation): MustacheStatement {
  return {
    type: 'MustacheStatement',
    path: { type: 'PathExpression', data: false, depth: 0, parts: [OUTPUT_MARKER_HELPER], original: OUTPUT_MARKER_HELPER, loc },
    params: [],
    hash: { type: 'Hash', pairs: [], loc },
    escaped: false,
    strip: { open: false, close: false },
    loc,
  } as unknown as MustacheStatement;
}

/** The engine every module shares: one Handlebars environment, one cache. */
export const templates = new TemplateEngine();

/**
 * Strict mode, checked before rendering so that a missing path is named even in a branch
 * that would not run: each reference outside `#each`/`#with` must exist in `ctx` as own
 * properties (a null value exists). Paths inside such blocks are checked as they render.
 */
function assertDefined(references: TemplateReference[], ctx: RenderContext): void {
  for (const reference of references) {
    if (reference.optional || reference.inBlock || exists(ctx, reference.path)) continue;
    const path = reference.path.join('.');
    throw new TemplateError(`${path} is not defined`, path, reference.line, reference.col);
  }
}

function exists(root: unknown, path: string[]): boolean {
  let current = root;
  for (const part of path) {
    if (FORBIDDEN_SEGMENTS.has(part)) return false;
    if (typeof current !== 'object' || current === null || !Object.prototype.hasOwnProperty.call(current, part)) {
      return false;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return true;
}

function throwFirstError(issues: TemplateIssue[]): void {
  const error = issues.find((issue) => issue.severity === 'error');
  if (error) throw issueError(error);
}

function issueError(issue: TemplateIssue): TemplateError {
  return new TemplateError(`${issue.message} (line ${issue.line}, col ${issue.col})`, undefined, issue.line, issue.col);
}

/** The only mustache of a template that is one `{{expr}}` between blanks, or null. */
function singleMustache(program: Program): MustacheStatement | null {
  const statements = program.body.filter((node) => !(node.type === 'ContentStatement' && (node as ContentStatement).value.trim() === ''));
  const [only] = statements;
  return statements.length === 1 && only?.type === 'MustacheStatement' ? (only as MustacheStatement) : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** A value taken from the context is copied, so that the result cannot alter the context. */
function copyJson(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (JSON.parse(JSON.stringify(value)) as unknown) : value;
}
