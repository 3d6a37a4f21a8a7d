// Parsing and static analysis of templates: the paths a template reads and the problems
// that can be found without data (unknown helpers, forbidden paths, partials).
import Handlebars from 'handlebars';

import { describeSyntaxError } from './template-syntax.js';
import { TemplateSyntaxError, type TemplateIssue, type TemplateReference } from './template.types.js';

export type Program = hbs.AST.Program;
export type Statement = hbs.AST.Statement;
export type Expression = hbs.AST.Expression;
export type MustacheStatement = hbs.AST.MustacheStatement;
export type BlockStatement = hbs.AST.BlockStatement;
export type SubExpression = hbs.AST.SubExpression;
export type PathExpression = hbs.AST.PathExpression;
export type ContentStatement = hbs.AST.ContentStatement;

/** A call site: a mustache, a `(sub expression)` or a `{{#block}}`. */
export type CallNode = MustacheStatement | SubExpression | BlockStatement;

/** Handlebars' built-in block helpers that books may use. */
export const BLOCK_HELPERS: ReadonlySet<string> = new Set(['if', 'unless', 'each', 'with']);
/** Blocks whose body runs with another context, where paths are relative. */
const CONTEXT_BLOCKS: ReadonlySet<string> = new Set(['each', 'with']);

/**
 * Segments never looked up: they lead from data to the prototype chain (prototype pollution,
 * code execution through `constructor`), whatever Handlebars' own protections do.
 */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/** 1-based line and column. */
export interface Location {
  line: number;
  col: number;
}

/** Where a node starts in its template (Handlebars columns are 0-based). */
export function locationOf(node: hbs.AST.Node): Location {
  return { line: node.loc.start.line, col: node.loc.start.column + 1 };
}

/** Maps Handlebars locations (line, 0-based column) back to the template source. */
export class SourceText {
  private readonly lineStarts: number[] = [0];

  constructor(readonly source: string) {
    // Handlebars counts \r\n, \r and \n as one line break each.
    for (const match of source.matchAll(/\r\n?|\n/g)) this.lineStarts.push(match.index + match[0].length);
  }

  /** The source of a node as written, e.g. `{{upper x}}`. */
  text(node: hbs.AST.Node): string {
    return this.source.slice(this.offset(node.loc.start), this.offset(node.loc.end));
  }

  /** The source after a node, up to the end. */
  after(node: hbs.AST.Node): string {
    return this.source.slice(this.offset(node.loc.end));
  }

  private offset(position: hbs.AST.Position): number {
    return (this.lineStarts[position.line - 1] ?? 0) + position.column;
  }
}

// --- parsing -----------------------------------------------------------------------------

type Env = typeof Handlebars;

/** The lexer state left by a failed parse, where the offending token was. */
interface ParserState {
  Parser?: { lexer?: { yylloc?: { first_line: number; first_column: number } } };
}

/** Parses a template; a syntax error becomes a TemplateSyntaxError with its line, column and reason. */
export function parseTemplate(env: Env, source: string): Program {
  try {
    return env.parse(source);
  } catch (error) {
    throw syntaxError(env, error, source);
  }
}

function syntaxError(env: Env, error: unknown, source: string): TemplateSyntaxError {
  const message = error instanceof Error ? error.message : String(error);
  const { line, col } = syntaxErrorLocation(env, error, message);
  return new TemplateSyntaxError(describeSyntaxError(source, message, line, col), line, col);
}

function syntaxErrorLocation(env: Env, error: unknown, message: string): Location {
  const exception = error as { lineNumber?: unknown; column?: unknown };
  if (typeof exception.lineNumber === 'number' && typeof exception.column === 'number') {
    return { line: exception.lineNumber, col: exception.column + 1 };
  }
  // Parse errors only name the line; the parser's lexer still holds the offending token.
  const line = Number(/on line (\d+)/.exec(message)?.[1] ?? 1);
  const token = (env as unknown as ParserState).Parser?.lexer?.yylloc;
  return token?.first_line === line ? { line, col: token.first_column + 1 } : { line, col: 1 };
}

// --- classification ----------------------------------------------------------------------

/** The helper name of a call head, or null when the head is not a plain name. */
export function simpleName(path: PathExpression | hbs.AST.Literal): string | null {
  if (path.type !== 'PathExpression') return null;
  const p = path as PathExpression;
  return !p.data && p.depth === 0 && p.parts.length === 1 && p.original === p.parts[0] ? p.parts[0] : null;
}

/**
 * Whether a mustache calls a helper (as Handlebars decides): with arguments, or a bare name
 * that is a helper. Otherwise `{{a.b}}` reads data.
 */
export function isHelperCall(node: MustacheStatement, helpers: ReadonlySet<string>): boolean {
  if (node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0) return true;
  const name = simpleName(node.path);
  return name !== null && (helpers.has(name) || BLOCK_HELPERS.has(name));
}

/** The head of a call as written: a path, or a literal. */
function headText(head: PathExpression | hbs.AST.Literal): string {
  return String((head as { original?: unknown }).original);
}

/** Whether a path reads data from the context (not `this`, not `@index` and the like). */
export function isDataPath(path: PathExpression): boolean {
  return !path.data && path.parts.length > 0;
}

// --- analysis ----------------------------------------------------------------------------

export interface Analysis {
  references: TemplateReference[];
  /** Every problem, including those of `forbidden`. */
  issues: TemplateIssue[];
  /** Paths through `__proto__`, `constructor` and the like. */
  forbidden: TemplateIssue[];
}

interface Scope {
  blockParams: ReadonlySet<string>;
  /** How many `#each`/`#with` blocks enclose this point. */
  contextDepth: number;
}

/** Collects the references and the static problems of a parsed template. */
export function analyze(program: Program, helpers: ReadonlySet<string>): Analysis {
  const analyzer = new Analyzer(helpers);
  analyzer.program(program, { blockParams: new Set(), contextDepth: 0 });
  const { references, issues, forbidden } = analyzer;
  return { references, issues, forbidden };
}

class Analyzer {
  readonly references: TemplateReference[] = [];
  readonly issues: TemplateIssue[] = [];
  readonly forbidden: TemplateIssue[] = [];

  constructor(private readonly helpers: ReadonlySet<string>) {}

  program(program: Program, scope: Scope): void {
    for (const node of program.body) this.statement(node, scope);
  }

  private statement(node: Statement, scope: Scope): void {
    switch (node.type) {
      case 'MustacheStatement':
        return this.mustache(node as MustacheStatement, scope);
      case 'BlockStatement':
        return this.block(node as BlockStatement, scope);
      case 'PartialStatement':
      case 'PartialBlockStatement':
        return this.issue(locationOf(node), 'partials ({{> name}}) are not supported');
      case 'Decorator':
      case 'DecoratorBlock':
        return this.issue(locationOf(node), 'decorators ({{* name}}) are not supported');
    }
  }

  private mustache(node: MustacheStatement, scope: Scope): void {
    const at = locationOf(node);
    if (isHelperCall(node, this.helpers)) this.call(node, 'mustache', at, scope);
    else if (node.path.type === 'PathExpression') this.path(node.path as PathExpression, at, scope, false);
  }

  private block(node: BlockStatement, scope: Scope): void {
    this.call(node, 'block', locationOf(node), scope);
    const name = simpleName(node.path) ?? '';
    const blockParams = new Set([...scope.blockParams, ...(node.program.blockParams ?? [])]);
    const contextDepth = scope.contextDepth + (CONTEXT_BLOCKS.has(name) ? 1 : 0);
    this.program(node.program, { blockParams, contextDepth });
    // `{{else}}` runs with the context outside the block.
    if (node.inverse) this.program(node.inverse, scope);
  }

  private call(node: CallNode, form: 'mustache' | 'sexpr' | 'block', at: Location, scope: Scope): void {
    const name = simpleName(node.path);
    this.checkHelper(name ?? headText(node.path), name !== null, form, at);
    node.params.forEach((param, i) => this.expression(param, at, scope, name === 'default' && i === 0));
    for (const pair of node.hash?.pairs ?? []) this.expression(pair.value, at, scope, false);
  }

  private checkHelper(name: string, simple: boolean, form: 'mustache' | 'sexpr' | 'block', at: Location): void {
    if (form === 'block') {
      if (!simple || !BLOCK_HELPERS.has(name)) {
        this.issue(at, `"${name}" is not a block helper: blocks are #if, #unless, #each and #with`);
      }
    } else if (simple && BLOCK_HELPERS.has(name)) {
      this.issue(at, `"${name}" is a block helper: write {{#${name} ...}}...{{/${name}}}`);
    } else if (!simple || !this.helpers.has(name)) {
      this.issue(at, `unknown helper "${name}"; helpers are ${[...this.helpers].join(', ')}`);
    }
  }

  private expression(node: Expression, at: Location, scope: Scope, optional: boolean): void {
    if (node.type === 'PathExpression') this.path(node as PathExpression, at, scope, optional);
    else if (node.type === 'SubExpression') this.call(node as SubExpression, 'sexpr', at, scope);
  }

  private path(path: PathExpression, at: Location, scope: Scope, optional: boolean): void {
    const forbidden = path.parts.find((part) => FORBIDDEN_SEGMENTS.has(part));
    if (forbidden !== undefined) {
      this.issue(at, `"${path.original}" is not allowed: "${forbidden}" is never looked up`);
      this.forbidden.push(this.issues[this.issues.length - 1]!);
      return;
    }
    const target = this.target(path, scope);
    if (target) this.references.push({ ...target, line: at.line, col: at.col, optional });
  }

  /** What a path reads, or null for `this`, `@index`, block params and the like. */
  private target(path: PathExpression, scope: Scope): { path: string[]; inBlock: boolean } | null {
    if (path.data) {
      // `@root.a.b` reads the template's context from anywhere.
      return path.parts[0] === 'root' && path.parts.length > 1 ? { path: path.parts.slice(1), inBlock: false } : null;
    }
    const first = path.parts[0];
    if (first === undefined) return null;
    const explicitThis = /^(this|\.)[./]/.test(path.original);
    if (path.depth === 0 && !explicitThis && scope.blockParams.has(first)) return null;
    return { path: [...path.parts], inBlock: scope.contextDepth - path.depth > 0 };
  }

  private issue(at: Location, message: string): void {
    this.issues.push({ ...at, message, severity: 'error' });
  }
}
