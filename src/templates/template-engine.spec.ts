import { execFileSync } from 'node:child_process';

import Handlebars from 'handlebars';

import { TemplateEngine, templates } from './template-engine.js';
import { templateHelpers } from './template-helpers.js';
import { TemplateError, type RenderContext } from './template.types.js';

/** The context of BOOKS.md's example, at the `register` step. */
function exampleContext(): RenderContext {
  return {
    deployment: {
      id: 'd-1',
      name: 'shop-db',
      kind: 'postgres',
      vars: { host: '10.0.0.5', registry_url: 'http://registry.internal', replicas: 2, tags: ['a', 'b'], nothing: null },
    },
    group: { id: 'g-1', name: 'shop', vars: {} },
    cluster: { id: 'c-1', name: 'eu-1', vars: { region: 'eu-west' } },
    params: { version: '15', replicas: 1, tls: false },
    job: { id: 'j-1', action: 'deploy', triggered_by: 'alice' },
    book: { name: 'postgres.deploy', version: '1.4.0' },
    step: { data: { data_dir: '/srv/shop-db' } },
    steps: { 'pull-image': { output: { image: 'postgres:15' } } },
    secrets: { token: 's3cret' },
  };
}

function withParam(value: unknown): RenderContext {
  return { ...exampleContext(), params: { x: value } };
}

/** Catches the TemplateError a call throws. */
function errorOf(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error('expected a TemplateError');
}

const RUN = 'echo pulling postgres:{{params.version}} into {{step.data.data_dir}} && echo ::output image=postgres:{{params.version}}';

describe('TemplateEngine', () => {
  const ctx = exampleContext();

  describe('the examples of BOOKS.md', () => {
    it('renders the run of pull-image', () => {
      expect(templates.render(RUN, ctx, 'shell')).toBe('echo pulling postgres:15 into /srv/shop-db && echo ::output image=postgres:15');
    });

    it('tokenises the ::output its author wrote, for the attempt that runs it', () => {
      expect(templates.render(RUN, ctx, 'shell', { outputToken: 'tok' })).toBe(
        'echo pulling postgres:15 into /srv/shop-db && echo ::output::tok image=postgres:15',
      );
      // also without any template, and inside blocks
      expect(templates.render('echo ::output a=1; echo "::output b=2"', ctx, 'shell', { outputToken: 'tok' })).toBe(
        'echo ::output::tok a=1; echo "::output::tok b=2"',
      );
      expect(templates.render('{{#if params.version}}echo ::output v={{params.version}}{{/if}}', ctx, 'shell', { outputToken: 't2' })).toBe(
        'echo ::output::t2 v=15',
      );
    });

    it('never tokenises a marker that comes from a value', () => {
      const forged = { ...ctx, params: { ...ctx.params, msg: 'x\n::output injected=1' } };
      expect(templates.render('echo {{params.msg}}; echo ::output ok=1', forged, 'shell', { outputToken: 'tok' })).toBe(
        "echo 'x\n::output injected=1'; echo ::output::tok ok=1",
      );
      expect(templates.render('{{{params.msg}}}', forged, 'text', { outputToken: 'tok' })).toBe('x\n::output injected=1');
      // and the same template without a token renders as authored (plan, validation)
      expect(templates.render('echo {{params.msg}}; echo ::output ok=1', forged, 'shell')).toBe("echo 'x\n::output injected=1'; echo ::output ok=1");
    });

    it('renders the health URL with the host', () => {
      expect(templates.render('http://{{deployment.vars.host}}:8008/health', ctx, 'url')).toBe('http://10.0.0.5:8008/health');
    });

    it('renders the registry URL from a base URL var', () => {
      expect(templates.render('{{deployment.vars.registry_url}}/instances', ctx, 'url')).toBe('http://registry.internal/instances');
    });

    it('renders the body, reading a step whose name has a dash', () => {
      const body = { name: '{{deployment.name}}', image: '{{steps.pull-image.output.image}}' };
      expect(templates.renderValue(body, ctx)).toEqual({ name: 'shop-db', image: 'postgres:15' });
      expect(templates.render('{{steps.[pull-image].output.image}}', ctx, 'text')).toBe('postgres:15');
    });

    it('renders the serialize of plan-layout, keeping the type of a single value', () => {
      const serialize = { data_dir: '/srv/{{deployment.name}}/{{params.version}}', replicas: '{{params.replicas}}' };
      expect(templates.renderValue(serialize, ctx)).toEqual({ data_dir: '/srv/shop-db/15', replicas: 1 });
    });

    it('renders an optional value through default', () => {
      expect(templates.render('{{default deployment.vars.port 5432}}', ctx, 'text')).toBe('5432');
      const withPort = { ...ctx, deployment: { ...ctx.deployment!, vars: { port: 6432 } } };
      expect(templates.render('{{default deployment.vars.port 5432}}', withPort, 'text')).toBe('6432');
      expect(templates.renderValue('{{default deployment.vars.port 5432}}', ctx)).toBe(5432);
    });

    it('renders a lock template', () => {
      expect(templates.render('db-{{deployment.vars.host}}', ctx, 'text')).toBe('db-10.0.0.5');
    });
  });

  describe('references', () => {
    it('lists the paths of the run example with the place of their {{', () => {
      expect(templates.references(RUN)).toEqual([
        { path: ['params', 'version'], line: 1, col: 23, optional: false, inBlock: false },
        { path: ['step', 'data', 'data_dir'], line: 1, col: 47, optional: false, inBlock: false },
        { path: ['params', 'version'], line: 1, col: 102, optional: false, inBlock: false },
      ]);
    });

    it('lists the paths of the URL and body examples', () => {
      expect(templates.references('http://{{deployment.vars.host}}:8008/health')).toEqual([
        { path: ['deployment', 'vars', 'host'], line: 1, col: 8, optional: false, inBlock: false },
      ]);
      expect(templates.references('{{steps.pull-image.output.image}}')).toEqual([
        { path: ['steps', 'pull-image', 'output', 'image'], line: 1, col: 1, optional: false, inBlock: false },
      ]);
    });

    it('marks the first argument of default optional, and only that', () => {
      expect(templates.references('{{default deployment.vars.port params.port}}')).toEqual([
        { path: ['deployment', 'vars', 'port'], line: 1, col: 1, optional: true, inBlock: false },
        { path: ['params', 'port'], line: 1, col: 1, optional: false, inBlock: false },
      ]);
    });

    it('finds paths in sub-expressions, hash values, block params and bodies, on later lines', () => {
      const source = 'a\n  {{upper (lower params.a) x=params.b}}\n{{#if params.c}}{{params.d}}{{else}}{{params.e}}{{/if}}';
      expect(templates.references(source).map((r) => [r.path.join('.'), r.line, r.col])).toEqual([
        ['params.a', 2, 3],
        ['params.b', 2, 3],
        ['params.c', 3, 1],
        ['params.d', 3, 17],
        ['params.e', 3, 37],
      ]);
    });

    it('marks paths inside #each and #with relative, and skips this, @data and block params', () => {
      const source =
        '{{#each deployment.vars.tags as |tag i|}}{{tag}}{{i}}{{this}}{{@index}}{{@key}}{{name}}{{../params.x}}{{/each}}' +
        '{{#with job}}{{action}}{{@root.book.name}}{{/with}}{{#each x}}{{else}}{{params.empty}}{{/each}}';
      expect(templates.references(source).map((r) => [r.path.join('.'), r.inBlock])).toEqual([
        ['deployment.vars.tags', false],
        ['name', true],
        ['params.x', false],
        ['job', false],
        ['action', true],
        ['book.name', false],
        ['x', false],
        ['params.empty', false],
      ]);
    });

    it('does not count helper names or literals', () => {
      expect(templates.references('{{upper "x"}} {{join deployment.vars.tags ", "}} {{eq 1 2}} {{duration 90}}')).toEqual([
        { path: ['deployment', 'vars', 'tags'], line: 1, col: 15, optional: false, inBlock: false },
      ]);
    });

    it('is empty for plain text', () => {
      expect(templates.references('plain text')).toEqual([]);
    });

    it('throws a located TemplateError on a syntax error', () => {
      const error = errorOf(() => templates.references('line one\nx {{foo bar}'));
      expect(error.line).toBe(2);
      expect(error.col).toBe(12); // the `}` that should be `}}`
      expect(error.message).toContain('line 2');
      expect(errorOf(() => templates.references('{{#if a}}\n{{/each}}')).line).toBe(1);
    });

    it.each(['{{deployment.__proto__}}', '{{constructor.name}}', '{{a.prototype}}', '{{upper (lower x.constructor)}}'])(
      'refuses %s',
      (source) => {
        expect(errorOf(() => templates.references(source)).message).toContain('is not allowed');
      },
    );
  });

  describe('strict rendering', () => {
    it('names the missing path, with its place', () => {
      const error = errorOf(() => templates.render('port\n  {{deployment.vars.port}}', ctx, 'text'));
      expect(error.message).toBe('deployment.vars.port is not defined');
      expect(error.path).toBe('deployment.vars.port');
      expect([error.line, error.col]).toEqual([2, 3]);
    });

    it('checks paths in helper arguments and in branches that do not run', () => {
      expect(errorOf(() => templates.render('{{upper params.nope}}', ctx, 'text')).path).toBe('params.nope');
      expect(errorOf(() => templates.render('{{#if params.tls}}{{params.cert}}{{/if}}', ctx, 'text')).path).toBe('params.cert');
    });

    it('checks paths inside blocks as they render', () => {
      const error = errorOf(() => templates.render('{{#each deployment.vars.tags}}{{name}}{{/each}}', ctx, 'text'));
      expect(error.message).toBe('name is not defined');
      expect(error.col).toBe(31);
      expect(errorOf(() => templates.render('{{#with job}}{{upper nope}}{{/with}}', ctx, 'text')).path).toBe('nope');
    });

    it('reads own properties only', () => {
      expect(errorOf(() => templates.render('{{deployment.vars.toString}}', ctx, 'text')).path).toBe('deployment.vars.toString');
      expect(errorOf(() => templates.render('{{deployment.name.length}}', ctx, 'text')).path).toBe('deployment.name.length');
    });

    it('treats null as defined', () => {
      expect(templates.render('{{deployment.vars.nothing}}', ctx, 'text')).toBe('null');
      expect(templates.render('[{{default deployment.vars.nothing}}]', ctx, 'text')).toBe('[]');
      expect(templates.render('{{default deployment.vars.nothing "x"}}', ctx, 'text')).toBe('x');
      expect(templates.renderValue('{{deployment.vars.nothing}}', ctx)).toBeNull();
    });

    it.each([
      '{{__proto__}}',
      '{{constructor}}',
      '{{deployment.constructor.name}}',
      '{{#each deployment.vars.tags}}{{constructor}}{{/each}}',
    ])('refuses %s', (source) => {
      expect(errorOf(() => templates.render(source, ctx, 'text')).message).toContain('is not allowed');
    });

    it('refuses unknown helpers, Handlebars helpers outside the book language, internal helpers and partials', () => {
      for (const source of [
        '{{foo x}}',
        '{{lookup deployment "name"}}',
        '{{log "x"}}',
        '{{__quire_out x}}',
        '{{> part}}',
        '{{#upper x}}{{/upper}}',
      ]) {
        expect(() => templates.render(source, ctx, 'text')).toThrow(TemplateError);
      }
    });

    it('wraps Handlebars runtime errors', () => {
      expect(() => templates.render('{{#each}}{{/each}}', ctx, 'text')).toThrow(TemplateError);
    });
  });

  describe('text mode', () => {
    it('does not escape HTML', () => {
      expect(templates.render('{{params.x}}', withParam(`<b>&"'</b>`), 'text')).toBe(`<b>&"'</b>`);
    });

    it('writes numbers, booleans and structures as text', () => {
      expect(templates.render('{{params.replicas}} {{params.tls}} {{deployment.vars.tags}}', ctx, 'text')).toBe('1 false ["a","b"]');
    });

    it('runs blocks, helpers and whitespace control', () => {
      const source =
        '{{#each deployment.vars.tags as |tag|}}\n- {{upper tag}} {{@index}}\n{{/each}}\n{{~#if params.tls}}tls{{else}}plain{{/if}} {{~ job.action ~}} !';
      expect(templates.render(source, ctx, 'text')).toBe('- A 0\n- B 1\nplaindeploy!');
      expect(templates.render('{{#if (and (eq job.action "deploy") (not params.tls))}}yes{{/if}}', ctx, 'text')).toBe('yes');
      expect(templates.render('{{join deployment.vars.tags " "}} {{duration 90}} {{json cluster.vars}}', ctx, 'text')).toBe(
        'a b 1m30s {"region":"eu-west"}',
      );
    });

    it('keeps the whitespace and block semantics of Handlebars', () => {
      // The rewrite for escaping must not change what Handlebars outputs around the values.
      const plain = Handlebars.create();
      for (const [name, helper] of Object.entries(templateHelpers)) plain.registerHelper(name, helper as Handlebars.HelperDelegate);
      const sources = [
        '{{#each deployment.vars.tags}}\n  - {{this}}\n{{/each}}\nend',
        'a\n  {{#if params.tls}}\n  yes {{~job.action~}}  \n  {{else}}\n no\n  {{/if}}\nend',
        '{{#with cluster.vars}}\n\n{{region}}\n{{/with}}\n',
        'x   {{~ job.action ~}}   z\n\n{{~#if params.tls~}} \n q \n{{~else if job}} r {{/if}}',
        '{{#each cluster.vars}}{{@key}}={{this}}{{#unless @last}},{{/unless}}{{/each}}',
        '{{! comment }}\n{{#unless params.tls}}\n{{upper job.action}}\n{{/unless}}\n',
      ];
      for (const source of sources) {
        expect(templates.render(source, ctx, 'text')).toBe(plain.compile(source, { noEscape: true })(ctx));
      }
    });

    it('returns plain text as it is', () => {
      expect(templates.render('no template here', ctx, 'shell')).toBe('no template here');
    });
  });

  describe('shell mode', () => {
    const payloads = ['x; rm -rf /', '$(reboot)', '`id`', "a'b", 'line1\nline2', '"q" \\ $HOME * ~', '', '-n', '&& echo pwned #'];

    it.each(payloads)('keeps %j one inert word when /bin/sh runs the command', (value) => {
      const command = templates.render("printf '%s\\n' {{params.x}}", withParam(value), 'shell');
      // Checked before running, so that a broken escaping can never execute the payload.
      expect(command).toBe(`printf '%s\\n' ${value === '' ? "''" : value === '-n' ? '-n' : `'${value.replaceAll("'", `'\\''`)}'`}`);
      const output = execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { PATH: '' } });
      expect(output).toBe(`${value}\n`);
    });

    it('keeps a value glued to literal text in the same word', () => {
      const command = templates.render("printf '%s\\n' image=postgres:{{params.x}}", withParam('15; id'), 'shell');
      expect(command).toBe("printf '%s\\n' image=postgres:'15; id'");
      expect(execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { PATH: '' } })).toBe('image=postgres:15; id\n');
    });

    it('quotes the result of helpers and structures too', () => {
      expect(templates.render('echo {{upper params.x}}', withParam('a b'), 'shell')).toBe("echo 'A B'");
      expect(templates.render('echo {{deployment.vars.tags}}', ctx, 'shell')).toBe(`echo '["a","b"]'`);
    });

    it('refuses a value inside quotes the author wrote', () => {
      expect(() => templates.render('echo "{{params.x}}"', withParam('$(reboot)'), 'shell')).toThrow(/defeat/);
      expect(() => templates.render("echo '{{params.x}}'", withParam('x'), 'shell')).toThrow(TemplateError);
    });

    it('refuses a value the shell would not read as a word', () => {
      for (const source of ['echo \\\\{{params.x}}', 'echo ${{params.x}}', 'echo hi # {{params.x}}', 'cat <<EOF\n{{params.x}}\nEOF']) {
        expect(() => templates.render(source, withParam('x'), 'shell')).toThrow(TemplateError);
      }
    });

    it('writes {{{raw}}} as is', () => {
      expect(templates.render('echo {{{params.x}}}', withParam('a | b'), 'shell')).toBe('echo a | b');
    });

    it('refuses a NUL byte', () => {
      expect(() => templates.render('echo {{params.x}}', withParam('a\0b'), 'shell')).toThrow(/NUL/);
    });
  });

  describe('url mode', () => {
    it.each(['a/b', 'x?admin=1', 'x#frag', '../../admin', '%2e%2e', 'a b'])('keeps the path value %j inside its segment', (value) => {
      const rendered = templates.render('http://{{deployment.vars.host}}/api/{{params.x}}/status?v=1', withParam(value), 'url');
      const url = new URL(rendered);
      expect(url.host).toBe('10.0.0.5');
      expect(url.search).toBe('?v=1');
      expect(url.hash).toBe('');
      const segments = url.pathname.split('/');
      expect(segments).toEqual(['', 'api', expect.any(String), 'status']);
      expect(decodeURIComponent(segments[2]!)).toBe(value);
    });

    it('refuses .. as a path segment', () => {
      expect(() => templates.render('http://h/api/{{params.x}}/x', withParam('..'), 'url')).toThrow(TemplateError);
    });

    it('percent-encodes query and fragment values', () => {
      const rendered = templates.render('http://h/s?q={{params.x}}&n=1#{{params.x}}', withParam('a&n=2#x'), 'url');
      const url = new URL(rendered);
      expect(url.searchParams.get('q')).toBe('a&n=2#x');
      expect(url.searchParams.getAll('n')).toEqual(['1']);
      expect(decodeURIComponent(url.hash.slice(1))).toBe('a&n=2#x');
    });

    it('refuses a host that would change the URL', () => {
      for (const host of ['evil.com/x', 'user@evil.com', 'h?x', '']) {
        const context = { ...ctx, deployment: { ...ctx.deployment!, vars: { host } } };
        expect(() => templates.render('http://{{deployment.vars.host}}:8008/health', context, 'url')).toThrow(TemplateError);
      }
    });

    it('refuses a base that is not an absolute http(s) URL', () => {
      const context = { ...ctx, deployment: { ...ctx.deployment!, vars: { registry_url: 'javascript:alert(1)' } } };
      expect(() => templates.render('{{deployment.vars.registry_url}}/instances', context, 'url')).toThrow(TemplateError);
    });

    it('joins a base URL that ends with a slash', () => {
      const context = { ...ctx, deployment: { ...ctx.deployment!, vars: { registry_url: 'http://r.internal/api/' } } };
      expect(templates.render('{{deployment.vars.registry_url}}/instances/{{deployment.name}}', context, 'url')).toBe(
        'http://r.internal/api/instances/shop-db',
      );
    });
  });

  describe('header mode', () => {
    it('inserts values, refusing CR and LF', () => {
      expect(templates.render('Bearer {{secrets.token}}', ctx, 'header')).toBe('Bearer s3cret');
      expect(() => templates.render('{{params.x}}', withParam('a\r\nX-Evil: 1'), 'header')).toThrow(TemplateError);
    });
  });

  describe('renderValue', () => {
    it('keeps the type of a single mustache in json mode', () => {
      const value = {
        n: '{{deployment.vars.replicas}}',
        b: ' {{params.tls}} ',
        list: '{{deployment.vars.tags}}',
        obj: '{{cluster.vars}}',
        text: 'x{{deployment.vars.replicas}}',
        raw: '{{{params.version}}}',
        helper: '{{eq params.replicas 1}}',
        nested: [{ '{{key}}': '{{job.action}}' }, 3, true, null],
      };
      expect(templates.renderValue(value, ctx)).toEqual({
        n: 2,
        b: false,
        list: ['a', 'b'],
        obj: { region: 'eu-west' },
        text: 'x2',
        raw: '15',
        helper: true,
        nested: [{ '{{key}}': 'deploy' }, 3, true, null],
      });
    });

    it('renders strings in other modes', () => {
      expect(templates.renderValue({ a: '{{deployment.vars.replicas}}' }, ctx, 'text')).toEqual({ a: '2' });
      expect(() => templates.renderValue({ h: '{{params.x}}' }, withParam('a\nb'), 'header')).toThrow(TemplateError);
    });

    it('copies values taken from the context', () => {
      const context = exampleContext();
      const list = templates.renderValue('{{deployment.vars.tags}}', context) as string[];
      list.push('c');
      expect(context.deployment!.vars.tags).toEqual(['a', 'b']);
    });

    it('is strict too', () => {
      expect(errorOf(() => templates.renderValue({ a: ['{{params.nope}}'] }, ctx)).path).toBe('params.nope');
      expect(templates.renderValue('{{default params.nope}}', ctx)).toBeNull();
    });
  });

  describe('lint', () => {
    it('accepts a value as a word of its own', () => {
      expect(templates.lint('echo {{params.x}} && ls {{step.data.data_dir}}/x', 'shell')).toEqual([]);
      expect(templates.lint(RUN, 'shell')).toEqual([]);
      expect(templates.lint('printf \'%s\\n\' {{params.x}} "done"', 'shell')).toEqual([]);
    });

    it('finds a value inside double and single quotes, with its place', () => {
      const issues = templates.lint('echo "{{x}}"\n  echo \'a {{y}}\'', 'shell');
      expect(issues.map(({ line, col, severity }) => ({ line, col, severity }))).toEqual([
        { line: 1, col: 7, severity: 'error' },
        { line: 2, col: 11, severity: 'error' },
      ]);
      expect(issues[0]!.message).toContain('defeat');
      expect(issues[0]!.message).toContain('remove the quotes');
    });

    it('finds values after a backslash or $, in backquotes, comments and here-documents', () => {
      const hazards = (source: string) => templates.lint(source, 'shell').map((issue) => issue.message);
      // `\\{{` is a literal backslash before a mustache (`\{{` would be no mustache at all).
      expect(hazards('echo \\\\{{x}}')).toEqual([expect.stringContaining('backslash')]);
      expect(hazards('echo \\{{x}}')).toEqual([]);
      expect(hazards('echo ${{x}}')).toEqual([expect.stringContaining('$')]);
      expect(hazards('echo `echo {{x}}`')).toEqual([expect.stringContaining('backquotes')]);
      expect(hazards('echo hi # {{x}}')).toEqual([expect.stringContaining('comment')]);
      expect(hazards('cat <<EOF\n{{x}}\nEOF\necho {{y}}')).toEqual([expect.stringContaining('here-document')]);
      expect(hazards('echo a#{{x}} "#" {{y}}')).toEqual([]);
    });

    it('requires blocks to close the quotes they open', () => {
      expect(templates.lint('echo {{#if a}}"{{/if}}x"', 'shell')).toEqual([
        expect.objectContaining({ line: 1, col: 6, severity: 'error' }),
      ]);
      expect(templates.lint('echo {{#if a}}"-v"{{/if}} {{b}}', 'shell')).toEqual([]);
    });

    it('warns about {{{raw}}} in shell and url mode only', () => {
      expect(templates.lint('echo {{{x}}}', 'shell')).toEqual([
        { line: 1, col: 6, message: expect.stringContaining('inserts raw text, not escaped'), severity: 'warning' },
      ]);
      expect(templates.lint('http://h/{{{x}}}', 'url')).toEqual([expect.objectContaining({ severity: 'warning' })]);
      expect(templates.lint('{{{x}}}', 'text')).toEqual([]);
    });

    it('finds unknown helpers, misused block helpers, partials and forbidden paths', () => {
      const issues = templates.lint('{{foo x}}\n{{if a}} {{#upper a}}{{/upper}} {{> p}} {{x.__proto__}}', 'text');
      expect(issues.map(({ line, col, message }) => [line, col, message.slice(0, 18)])).toEqual([
        [1, 1, 'unknown helper "fo'],
        [2, 1, '"if" is a block hel'.slice(0, 18)],
        [2, 10, '"upper" is not a b'],
        [2, 33, 'partials ({{> name'],
        [2, 41, '"x.__proto__" is n'],
      ]);
    });

    it('reports a syntax error with its place', () => {
      expect(templates.lint('ok\n  {{#if a}}x', 'text')).toEqual([
        { line: expect.any(Number), col: expect.any(Number), message: 'unclosed block `{{#if}}`: expected `{{/if}}`', severity: 'error' },
      ]);
      const [issue] = templates.lint('a\nb {{x y=}}', 'text');
      expect([issue!.line, issue!.col]).toEqual([2, 9]);
    });
  });

  describe('isTruthy', () => {
    it('reads a rendered when', () => {
      expect(templates.isTruthy(templates.render('{{params.tls}}', ctx, 'text'))).toBe(false);
      expect(templates.isTruthy(templates.render('{{eq job.action "deploy"}}', ctx, 'text'))).toBe(true);
      expect(templates.isTruthy(' Off ')).toBe(false);
      expect(templates.isTruthy([])).toBe(false);
      expect(templates.isTruthy('yes')).toBe(true);
    });
  });

  describe('isolation and caching', () => {
    it('registers nothing in the global Handlebars', () => {
      expect(Handlebars.helpers['default']).toBeUndefined();
      expect(Handlebars.helpers['__quire_out']).toBeUndefined();
    });

    it('caches per mode, so the same source escapes differently', () => {
      const engine = new TemplateEngine();
      const context = withParam('a b');
      expect(engine.render('{{params.x}}', context, 'text')).toBe('a b');
      expect(engine.render('{{params.x}}', context, 'shell')).toBe("'a b'");
      expect(engine.render('{{params.x}}', context, 'text')).toBe('a b');
    });

    it('keeps at most 2000 compiled templates', () => {
      const engine = new TemplateEngine();
      for (let i = 0; i < 2100; i += 1) engine.render(`{{job.action}} ${i}`, ctx, 'text');
      const cache = (engine as unknown as { cache: { entries: Map<string, unknown> } }).cache;
      expect(cache.entries.size).toBe(2000);
      expect(cache.entries.has('text\0{{job.action}} 0')).toBe(false);
      expect(cache.entries.has('text\0{{job.action}} 2099')).toBe(true);
    });

    it('tells whether a string is a template', () => {
      expect(templates.hasTemplate('a {{b}}')).toBe(true);
      expect(templates.hasTemplate('a { b }')).toBe(false);
    });
  });
});
