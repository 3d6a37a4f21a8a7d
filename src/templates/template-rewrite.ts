// Rewrites a parsed template so that escaping and strictness cannot be forgotten:
// - every mustache `{{expr}}` becomes `{{__quire_out expr mode=... }}`, which escapes the
//   value for the place it lands (the template is then compiled with noEscape);
// - every path an expression reads becomes `(__quire_defined path ...)`, which refuses a path
//   that does not exist, also inside blocks where it cannot be checked before rendering.
import { CAPTURE_HELPER, DEFINED_HELPER, OUT_HELPER, type OutSite, type ValueSite } from './internal-helpers.js';
import {
  isDataPath,
  isHelperCall,
  locationOf,
  simpleName,
  type BlockStatement,
  type CallNode,
  type Location,
  type Expression,
  type MustacheStatement,
  type PathExpression,
  type Program,
  type SourceText,
  type SubExpression,
} from './template-ast.js';
import type { UrlSlot } from './template-slots.js';
import type { RenderMode } from './template.types.js';

type Loc = hbs.AST.SourceLocation;
type HashValue = string | number | boolean;

export class TemplateRewriter {
  constructor(
    private readonly source: SourceText,
    private readonly helpers: ReadonlySet<string>,
  ) {}

  /** Rewrites every mustache of `program` (blocks included) for rendering in `mode`. */
  forRender(program: Program, mode: RenderMode, urlSlots: ReadonlyMap<MustacheStatement, UrlSlot>): void {
    for (const node of program.body) {
      if (node.type === 'MustacheStatement') {
        const mustache = node as MustacheStatement;
        // Raw `{{{x}}}` is written as is, but is still strict about missing values.
        const site: Partial<OutSite> = mustache.escaped ? { mode, ...urlSlots.get(mustache) } : { mode: 'text' };
        this.replace(mustache, OUT_HELPER, site);
      } else if (node.type === 'BlockStatement') {
        this.block(node as BlockStatement, mode, urlSlots);
      }
    }
  }

  /** Rewrites the single mustache of a template so that it captures its value. */
  forCapture(mustache: MustacheStatement): void {
    this.replace(mustache, CAPTURE_HELPER, {});
  }

  private block(block: BlockStatement, mode: RenderMode, urlSlots: ReadonlyMap<MustacheStatement, UrlSlot>): void {
    this.guardArguments(block, locationOf(block));
    this.forRender(block.program, mode, urlSlots);
    if (block.inverse) this.forRender(block.inverse, mode, urlSlots);
  }

  /** Turns `{{expr}}` into `{{helper expr ...site}}`, keeping its place and whitespace control. */
  private replace(mustache: MustacheStatement, helper: string, extra: Partial<OutSite>): void {
    const value = this.valueOf(mustache);
    const site: ValueSite = { ...locationOf(mustache), ...value.site };
    mustache.path = pathTo(helper, mustache.loc);
    mustache.params = [value.expression];
    mustache.hash = hashOf({ ...site, ...extra }, mustache.loc);
  }

  /** The expression a mustache writes: the path it reads, or its helper call. */
  private valueOf(mustache: MustacheStatement): { expression: Expression; site: Omit<ValueSite, 'line' | 'col'> } {
    const label = this.source.text(mustache);
    if (!isHelperCall(mustache, this.helpers)) {
      const path = mustache.path.type === 'PathExpression' ? (mustache.path as PathExpression) : null;
      const dotted = path && isDataPath(path) ? path.parts.join('.') : undefined;
      return { expression: mustache.path, site: { label, path: dotted, optional: false } };
    }
    const call: SubExpression = {
      type: 'SubExpression',
      path: mustache.path as PathExpression,
      params: mustache.params,
      hash: mustache.hash,
      loc: mustache.loc,
    };
    this.guardArguments(call, locationOf(mustache));
    return { expression: call, site: { label, optional: simpleName(mustache.path) === 'default' } };
  }

  /** Makes every path argument of a call strict, except the first argument of `default`. */
  private guardArguments(call: CallNode, at: Location): void {
    const isDefault = simpleName(call.path) === 'default';
    call.params = call.params.map((param, i) => (isDefault && i === 0 ? this.guardNested(param, at) : this.guard(param, at)));
    for (const pair of call.hash?.pairs ?? []) pair.value = this.guard(pair.value, at);
  }

  private guard(node: Expression, at: Location): Expression {
    if (node.type === 'PathExpression' && isDataPath(node as PathExpression)) {
      const path = node as PathExpression;
      const site: ValueSite = { ...at, label: path.original, path: path.parts.join('.'), optional: false };
      const guarded: SubExpression = {
        type: 'SubExpression',
        path: pathTo(DEFINED_HELPER, node.loc),
        params: [path],
        hash: hashOf(site, node.loc),
        loc: node.loc,
      };
      return guarded;
    }
    return this.guardNested(node, at);
  }

  /** Guards the arguments of a nested call, leaving the expression itself as it is. */
  private guardNested(node: Expression, at: Location): Expression {
    if (node.type === 'SubExpression') this.guardArguments(node as SubExpression, at);
    return node;
  }
}

function pathTo(name: string, loc: Loc): PathExpression {
  return { type: 'PathExpression', data: false, depth: 0, parts: [name], original: name, loc };
}

function hashOf(values: object, loc: Loc): hbs.AST.Hash {
  const pairs = Object.entries(values)
    .filter((entry): entry is [string, HashValue] => entry[1] !== undefined)
    .map(([key, value]): hbs.AST.HashPair => ({ type: 'HashPair', key, value: literal(value, loc), loc }));
  return { type: 'Hash', pairs, loc };
}

function literal(value: HashValue, loc: Loc): hbs.AST.Expression {
  if (typeof value === 'string') return { type: 'StringLiteral', value, original: value, loc } as hbs.AST.StringLiteral;
  if (typeof value === 'number') return { type: 'NumberLiteral', value, original: value, loc } as hbs.AST.NumberLiteral;
  return { type: 'BooleanLiteral', value, original: value, loc } as hbs.AST.BooleanLiteral;
}
