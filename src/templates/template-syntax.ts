// Handlebars' parser reports a mistake in its grammar's terms ("Expecting 'CLOSE_RAW_BLOCK',
// 'CLOSE', ..., got 'INVALID'"), which a book author cannot act on. This turns the raw
// message, the template and the place of the offending token into a sentence about what
// was written. Pure: no Handlebars here.

/** What the parser expected and what it found, from a "Parse error" message. */
interface ParseFailure {
  expected: string[];
  got: string;
}

const TOKEN_TEXT: Readonly<Record<string, string>> = {
  CLOSE: '`}}`',
  CLOSE_UNESCAPED: '`}}}`',
  CLOSE_SEXPR: '`)`',
  OPEN: '`{{`',
  OPEN_UNESCAPED: '`{{{`',
  OPEN_BLOCK: '`{{#`',
  OPEN_ENDBLOCK: '`{{/`',
  OPEN_INVERSE: '`{{^`',
  OPEN_INVERSE_CHAIN: '`{{else ...}}`',
  INVERSE: '`{{else}}`',
  OPEN_SEXPR: '`(`',
  OPEN_PARTIAL: '`{{>`',
  OPEN_BLOCK_PARAMS: '`as |`',
  CLOSE_BLOCK_PARAMS: '`|`',
  EQUALS: '`=`',
  SEP: '`.`',
  ID: 'a name',
  STRING: 'a string',
  NUMBER: 'a number',
  BOOLEAN: 'true or false',
  UNDEFINED: 'undefined',
  NULL: 'null',
  DATA: 'an @name',
  CONTENT: 'text',
  EOF: 'the end of the template',
};

/**
 * The reason of a template syntax error, for authors: `unclosed {{ ... }}: expected }}`.
 * `line` and `col` (1-based) are where the parser stopped, inside `source`.
 */
export function describeSyntaxError(source: string, raw: string, line: number, col: number): string {
  const at = offsetOf(source, line, col);
  const mismatch = /^(\S+) doesn't match (\S+)/.exec(raw);
  if (mismatch) return `\`{{#${mismatch[1]}}}\` is closed by \`{{/${mismatch[2]}}}\`: expected \`{{/${mismatch[1]}}}\``;
  if (/^Lexical error/.test(raw)) return lexicalReason(source, at);
  const failure = parseFailure(raw);
  if (!failure) return `template syntax error: ${lastLine(raw)}`;
  return parseReason(source, at, failure);
}

function parseFailure(raw: string): ParseFailure | undefined {
  const m = /Expecting (.*), got '([A-Z_]+)'\s*$/.exec(raw);
  if (!m) return undefined;
  const expected = [...(m[1] ?? '').matchAll(/'([A-Z_]+)'/g)].map((e) => e[1]!);
  return { expected, got: m[2]! };
}

function parseReason(source: string, at: number, { expected, got }: ParseFailure): string {
  const opener = openMustache(source, at);
  if ((got === 'INVALID' || got === 'EOF') && opener && !closedBeforeNext(source, opener)) {
    const close = opener.raw ? '}}}' : '}}';
    return `unclosed \`${opener.raw ? '{{{' : '{{'} ... ${close}\`: expected \`${close}\``;
  }
  if (got === 'INVALID' && (source[at] === '"' || source[at] === "'")) return `unclosed string: expected a closing ${source[at]}`;
  if (got === 'EOF' && expected.includes('OPEN_ENDBLOCK')) {
    const block = openBlock(source);
    return block ? `unclosed block \`{{#${block}}}\`: expected \`{{/${block}}}\`` : 'unclosed block: expected `{{/...}}`';
  }
  if (got === 'CLOSE_UNESCAPED' && expected.includes('CLOSE')) return '`}}}` closes a `{{`: write `}}`, or open with `{{{` for raw text';
  if (got === 'CLOSE' && expected.includes('CLOSE_UNESCAPED')) return '`{{{` is closed by `}}`: expected `}}}`';
  if (got === 'CLOSE' && expected.includes('CLOSE_SEXPR')) return 'unclosed `(`: expected `)`';
  if (got === 'CLOSE' && opener && /^\{\{\{?[\s~]*$/.test(source.slice(opener.at, at)))
    return 'empty `{{ }}`: write a path or a helper call inside';
  if (got === 'CLOSE') return 'a value is missing before `}}`';
  if (got === 'OPEN_ENDBLOCK') return '`{{/...}}` closes no open block';
  if (got === 'INVERSE' || got === 'OPEN_INVERSE_CHAIN') return '`{{else}}` stands outside any `{{#if}}` or `{{#each}}` block';
  const wanted = [...new Set(expected.map((e) => TOKEN_TEXT[e]).filter(Boolean))].slice(0, 4);
  const found = got === 'INVALID' ? `\`${source[at] ?? ''}\`` : (TOKEN_TEXT[got] ?? got);
  return `template syntax error: unexpected ${found}${wanted.length ? ` (expected ${wanted.join(', ')})` : ''}`;
}

function lexicalReason(source: string, at: number): string {
  const opener = source.lastIndexOf('{{', at + 1);
  if (source.startsWith('{{!--', opener) && !source.includes('--}}', opener)) return 'unclosed comment `{{!-- ... --}}`: expected `--}}`';
  if (source.startsWith('{{!', opener) && !source.includes('}}', opener)) return 'unclosed comment `{{! ... }}`: expected `}}`';
  return `template syntax error: unrecognized text \`${source.slice(at, at + 10)}\``;
}

/** The last `{{` at or before `at` that no `}}` closes before `at`. */
function openMustache(source: string, at: number): { at: number; raw: boolean } | undefined {
  const open = source.lastIndexOf('{{', Math.min(at, source.length - 1));
  if (open < 0) return undefined;
  // `{{{x` is found as `{{` at the second brace
  const start = open > 0 && source[open - 1] === '{' ? open - 1 : open;
  const closeAt = source.indexOf('}}', start + 2);
  if (closeAt >= 0 && closeAt < at) return undefined;
  return { at: start, raw: source.startsWith('{{{', start) };
}

/** Whether a `}}` follows the opener before the next `{{` (or the end). */
function closedBeforeNext(source: string, opener: { at: number; raw: boolean }): boolean {
  const from = opener.at + (opener.raw ? 3 : 2);
  const next = source.indexOf('{{', from);
  const close = source.indexOf(opener.raw ? '}}}' : '}}', from);
  return close >= 0 && (next < 0 || close < next);
}

/** The innermost `{{#name}}` (or `{{^name}}`) that no `{{/name}}` closes. */
function openBlock(source: string): string | undefined {
  const stack: string[] = [];
  for (const m of source.matchAll(/\{\{~?\s*([#^/])\s*([^\s}~]+)/g)) {
    if (m[1] === '/') stack.pop();
    else stack.push(m[2]!.replace(/^\*/, ''));
  }
  return stack[stack.length - 1];
}

function offsetOf(source: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = source.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return Math.min(offset + col - 1, source.length);
}

function lastLine(raw: string): string {
  const lines = raw.split('\n');
  return (lines[lines.length - 1] ?? raw).replace(/ - \d+:\d+$/, '');
}
