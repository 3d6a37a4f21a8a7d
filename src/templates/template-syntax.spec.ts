import { templates } from './template-engine.js';

const lint = (source: string) => templates.lint(source, 'text').map((i) => [i.line, i.col, i.message]);

describe('template syntax errors', () => {
  it.each([
    ['echo {{deployment.name}', 1, 23, 'unclosed `{{ ... }}`: expected `}}`'],
    ['one\necho {{deployment.name} {{job.id}}', 2, 23, 'unclosed `{{ ... }}`: expected `}}`'],
    ['echo {{deployment.name', 1, 19, 'unclosed `{{ ... }}`: expected `}}`'],
    ['a {{{x}} b', 1, 7, '`{{{` is closed by `}}`: expected `}}}`'],
    ['a {{x}}} b', 1, 6, '`}}}` closes a `{{`: write `}}`, or open with `{{{` for raw text'],
    ['a {{#each xs}}{{#if x}}{{/if}} y', 1, 33, 'unclosed block `{{#each}}`: expected `{{/each}}`'],
    ['a {{#if x}}{{/each}}', 1, 6, '`{{#if}}` is closed by `{{/each}}`: expected `{{/if}}`'],
    ['a {{ }}', 1, 6, 'empty `{{ }}`: write a path or a helper call inside'],
    ['a {{x y=}}', 1, 9, 'a value is missing before `}}`'],
    ['a {{upper (lower x}}', 1, 19, 'unclosed `(`: expected `)`'],
    ['a {{"x}}', 1, 5, 'unclosed string: expected a closing "'],
    ['a {{!-- note', 1, 3, 'unclosed comment `{{!-- ... --}}`: expected `--}}`'],
    ['{{x}} {{/if}}', 1, 7, '`{{/...}}` closes no open block'],
    ['{{else}}', 1, 1, '`{{else}}` stands outside any `{{#if}}` or `{{#each}}` block'],
  ])('%j: %s', (source, line, col, message) => {
    expect(lint(source)).toEqual([[line, col, message]]);
  });

  it('never passes on the parser grammar', () => {
    const [issue] = templates.lint('a {{x ^}}', 'text');
    expect(issue?.message).toMatch(/^template syntax error: unexpected `\^`/);
    expect(issue?.message).not.toMatch(/CLOSE|INVALID/);
  });

  it('keeps the position in the thrown message, where no field locates it', () => {
    expect(() => templates.render('echo {{x}', {}, 'text')).toThrow('template syntax error at line 1, col 9: unclosed `{{ ... }}`');
  });
});
