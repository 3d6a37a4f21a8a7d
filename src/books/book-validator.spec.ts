import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { BookProblem } from './book.types.js';
import { packageRoot } from './book-schema.js';
import { formatProblem, validateBookSet, validateBookSource } from './book-validator.js';

const ctx = {
  handlers: new Set(['demo.plan-layout', 'demo.render-config', 'demo.verify']),
  serializeHandlers: new Set(['demo.pick-port']),
};
const FIXTURES = join(packageRoot(), 'test', 'fixtures', 'books');
const KIT = '/work/shared/contract';

const bookFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.book.yaml'))
        .sort()
    : [];
const errorsOf = (problems: BookProblem[]) => problems.filter((p) => p.severity === 'error');
const show = (problems: BookProblem[]) => problems.map(formatProblem).join('\n');

/** `# expect: text ; text ; line N` → the texts and the line. */
function expectation(source: string): { texts: string[]; line?: number } {
  const parts = (source.split('\n')[0] ?? '')
    .replace(/^# expect:\s*/, '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  const line = parts.map((p) => /^line (\d+)$/.exec(p)).find(Boolean);
  return { texts: parts.filter((p) => !/^line \d+$/.test(p)), line: line ? Number(line[1]) : undefined };
}

describe('valid books', () => {
  const valid = [
    ...bookFiles(join(FIXTURES, 'valid')).map((f) => join(FIXTURES, 'valid', f)),
    ...bookFiles(join(KIT, 'books')).map((f) => join(KIT, 'books', f)),
  ];

  it.each(valid)('%s validates with no problem', (path) => {
    const result = validateBookSource(path, readFileSync(path, 'utf8'), ctx);
    expect(show(result.problems)).toBe('');
    expect(result.book).toBeDefined();
    expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('has the fixtures the suite relies on', () => {
    expect(valid.length).toBeGreaterThanOrEqual(4);
  });
});

describe('invalid books', () => {
  const dir = join(FIXTURES, 'invalid');
  const files = bookFiles(dir);

  it('has at least 20 of them', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(files)('%s fails with the expected message on the expected line', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    const { texts, line } = expectation(source);
    const result = validateBookSource(file, source, ctx);
    const errors = errorsOf(result.problems);
    expect(result.book).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
    const matching = errors.filter(
      (p) => texts.every((t) => p.message.toLowerCase().includes(t.toLowerCase())) && (line === undefined || p.line === line),
    );
    if (matching.length === 0) throw new Error(`expected [${texts.join(', ')}] on line ${line}, got:\n${show(errors)}`);
    expect(formatProblem(matching[0]!)).toMatch(new RegExp(`^${file.replace(/\./g, '\\.')}:${line ?? '\\d+'}:\\d+: `));
  });
});

describe('a tab used for indentation', () => {
  // the parser misreads the rest of the file after it: only the tab is reported
  it.each([
    ['tab-indent.book.yaml', ['tab-indent.book.yaml:8:1: tab used for indentation: YAML indents with spaces only']],
    ['tab-before-key.book.yaml', ['tab-before-key.book.yaml:7:1: tab used for indentation: YAML indents with spaces only']],
  ])('%s: the tab, and nothing it causes', (file, expected) => {
    const source = readFileSync(join(FIXTURES, 'invalid', file), 'utf8');
    expect(validateBookSource(file, source, ctx).problems.map(formatProblem)).toEqual(expected);
  });

  it('keeps the problems of earlier lines, and every tab', () => {
    const source = 'name: t\nname: u\nkind: demo\nsteps:\n  - name: a\n\tkind: shell\n    run: "true"\n\tx: 1\n';
    expect(validateBookSource('t.book.yaml', source, ctx).problems.map(formatProblem)).toEqual([
      "t.book.yaml:2:1: duplicate key 'name': keys must be unique",
      't.book.yaml:6:1: tab used for indentation: YAML indents with spaces only',
      't.book.yaml:8:1: tab used for indentation: YAML indents with spaces only',
    ]);
  });
});

describe('invalid book sets', () => {
  // each subfolder of invalid/ is one set: its files are only wrong together
  const dir = join(FIXTURES, 'invalid');
  const sets = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

  it('include the duplicate (kind, action) pair', () => {
    expect(sets).toContain('duplicate-action');
  });

  it('include a link passing a parameter its target does not declare', () => {
    expect(sets).toContain('link-undeclared-param');
  });

  it('names every parameter a link passes that its target does not declare, at its key', () => {
    const set = join(dir, 'link-undeclared-param');
    const files = bookFiles(set).map((f) => ({ file: f, source: readFileSync(join(set, f), 'utf8') }));
    expect(validateBookSet(files, ctx).problems.map(formatProblem)).toEqual([
      "caller.book.yaml:13:15: steps[1].params.relase: book 'link.target' (action 'release') declares no parameter 'relase' (did you mean 'release'?)",
      "caller.book.yaml:15:59: on_success[0].trigger.params.chanel: book 'link.target' (action 'release') declares no parameter 'chanel' (did you mean 'channel'?)",
    ]);
    // with the names right, the set is valid; a link to another deployment is not checked here
    const fixed = files.map((f) => ({ ...f, source: f.source.replace('{ relase:', '{ release:').replace(', chanel:', ', channel:') }));
    expect(validateBookSet(fixed, ctx).problems.filter((p) => p.severity === 'error')).toEqual([]);
    const elsewhere = files.map((f) => ({ ...f, source: f.source.replace('action: release\n    params:', 'action: release\n    deployment: other\n    params:') }));
    expect(validateBookSet(elsewhere, ctx).problems.map(formatProblem)).toEqual([expect.stringContaining("'chanel'")]);
  });

  it.each(sets)('%s: every file with an `# expect:` line fails with the expected message on the expected line', (set) => {
    const files = bookFiles(join(dir, set)).map((f) => ({ file: `${set}/${f}`, source: readFileSync(join(dir, set, f), 'utf8') }));
    for (const { file, source } of files) expect(validateBookSource(file, source, ctx).book).toBeDefined();
    const { books, problems } = validateBookSet(files, ctx);
    // the others (a link's target) stay valid in the set
    const failing = files.filter(({ source }) => source.startsWith('# expect:'));
    expect(books.map((b) => b.file).sort()).toEqual(files.filter((f) => !failing.includes(f)).map((f) => f.file).sort());
    for (const { file, source } of failing) {
      const { texts, line } = expectation(source);
      const own = errorsOf(problems).filter((p) => p.file === file);
      const matching = own.filter((p) => texts.every((t) => p.message.includes(t)) && (line === undefined || p.line === line));
      if (matching.length === 0) throw new Error(`${file}: expected [${texts.join(', ')}] on line ${line}, got:\n${show(own)}`);
    }
  });
});

const book = (name: string, extra = '') =>
  `name: ${name}\nkind: demo\naction: ${name}\n${extra}steps:\n  - name: a\n    kind: shell\n    run: "true"\n`;

describe('validateBookSource', () => {
  it('reports every problem at once, in file order', () => {
    const source = [
      'name: many', //                  1
      'kind: demo', //                  2
      'action: many', //                3
      'priority: 9', //                 4
      'colour: blue', //                5
      'steps:', //                      6
      '  - name: a', //                 7
      '    kind: shell', //             8
      '    run: "true"', //             9
      '    on_failure: maybe', //       10
      '  - name: a', //                 11
      '    kind: handler', //           12
      '    handler: nope', //           13
      '  - name: c', //                 14
      '    run: "echo {{steps.z.output.x}}"', // 15
      '',
    ].join('\n');
    const problems = validateBookSource('b.book.yaml', source, ctx).problems;
    expect(problems.map(formatProblem)).toEqual([
      'b.book.yaml:4:11: priority must be <= 4 (got 9)',
      "b.book.yaml:5:1: unknown key 'colour'",
      "b.book.yaml:10:17: steps[0].on_failure must be one of fail, continue, ignore (got 'maybe')",
      "b.book.yaml:11:11: duplicate step name 'a' (also steps[0]): step names must be unique",
      "b.book.yaml:13:14: steps[1].handler: unknown handler 'nope' (registered: demo.plan-layout, demo.render-config, demo.verify)",
      "b.book.yaml:14:5: step 'c' (steps[2]) is missing 'kind' (one of shell, http, wait, handler, trigger, manual)",
      // the step's kind is missing, but its template can still be checked
      'b.book.yaml:15:16: steps[2].run: steps.z does not exist (steps: a, c)',
    ]);
    expect(problems[0]).toMatchObject({ field: 'priority', severity: 'error' });
    expect(problems[2]).toMatchObject({ field: 'steps[0].on_failure' });
  });

  it('points at the exact reference inside a template', () => {
    const source = book('refs').replace('run: "true"', 'run: "echo {{params.a}} {{nope.x}}"');
    const [p] = validateBookSource('r.book.yaml', source, ctx).problems;
    expect(p).toMatchObject({ line: 7, col: 29, field: 'steps[0].run' });
    expect(p?.message).toMatch(/unknown template root 'nope'/);
  });

  it('says what is wrong with a template that does not parse, located once, in the file', () => {
    const source = book('syntax').replace('run: "true"', 'run: |\n      echo one\n      echo {{deployment.name} two');
    expect(validateBookSource('t.book.yaml', source, ctx).problems.map(formatProblem)).toEqual([
      't.book.yaml:9:29: steps[0].run: unclosed `{{ ... }}`: expected `}}`',
    ]);
  });

  it('checks step references against the order of steps', () => {
    const source = [
      'name: order\nkind: demo\naction: order\nsteps:',
      '  - name: one\n    kind: shell\n    run: "echo ::output x=1"',
      '  - name: two\n    kind: shell\n    run: "echo {{steps.one.output.x}} {{steps.one.status}}"',
      '',
    ].join('\n');
    const problems = validateBookSource('o.book.yaml', source, ctx).problems;
    expect(problems.map((p) => p.message)).toEqual(['steps[1].run: steps.one.status does not exist: use steps.one.output.<key>']);
  });

  it('keeps the hash across comment and layout changes, and changes it with the content', () => {
    const a = validateBookSource('a', book('h'), ctx).hash;
    const b = validateBookSource('a', `# a comment\n${book('h').replace('run: "true"', "run: 'true'   # same")}`, ctx).hash;
    const c = validateBookSource('a', book('h').replace('"true"', '"false"'), ctx).hash;
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('returns the book with warnings, prefixed in the printed form', () => {
    const result = validateBookSource('w.book.yaml', book('warned', 'lock: deployment\n'), ctx);
    expect(result.book?.name).toBe('warned');
    expect(result.problems.map(formatProblem)).toEqual([
      "w.book.yaml:4:7: warning: lock 'deployment' adds nothing: every job already holds its deployment's lock",
    ]);
  });

  it('leaves a misshapen part to phase 1 alone', () => {
    const source = book('shape').replace('run: "true"', 'run: ["echo", "{{nope}}"]');
    expect(validateBookSource('s', source, ctx).problems.map((p) => p.message)).toEqual([
      'steps[0].run must be a string (got ["echo","{{nope}}"])',
    ]);
  });
});

describe('validateBookSet', () => {
  it('reports a duplicate name and a duplicate (kind, action) in both files, and returns neither', () => {
    const files = [
      { file: 'a.book.yaml', source: book('same') },
      { file: 'b.book.yaml', source: book('same').replace('action: same', 'action: other') },
      { file: 'c.book.yaml', source: book('third').replace('action: third', 'action: other') },
      { file: 'd.book.yaml', source: book('fine') },
    ];
    const { books, problems } = validateBookSet(files, ctx);
    expect(books.map((b) => b.file)).toEqual(['d.book.yaml']);
    expect(problems.map(formatProblem)).toEqual([
      "a.book.yaml:1:7: duplicate book name 'same': also in b.book.yaml:1",
      "b.book.yaml:1:7: duplicate book name 'same': also in a.book.yaml:1",
      "b.book.yaml:3:9: duplicate action 'other' for kind 'demo': also in c.book.yaml:3",
      "c.book.yaml:3:9: duplicate action 'other' for kind 'demo': also in b.book.yaml:3",
    ]);
  });

  it('names at most three other files for a duplicate', () => {
    const files = ['a', 'b', 'c', 'd', 'e', 'f'].map((f) => ({
      file: `${f}.book.yaml`,
      source: book(f).replace(`action: ${f}`, 'action: same'),
    }));
    const { problems } = validateBookSet(files, ctx);
    expect(problems.map(formatProblem)[0]).toBe(
      "a.book.yaml:3:9: duplicate action 'same' for kind 'demo': also in b.book.yaml:3, c.book.yaml:3, d.book.yaml:3, ... and 2 more",
    );
    expect(problems.map(formatProblem)[3]).toBe(
      "d.book.yaml:3:9: duplicate action 'same' for kind 'demo': also in a.book.yaml:3, b.book.yaml:3, c.book.yaml:3, ... and 2 more",
    );
  });

  it('returns every valid book with its hash', () => {
    const { books, problems } = validateBookSet(
      [
        { file: 'x', source: book('x') },
        { file: 'y', source: book('y') },
      ],
      ctx,
    );
    expect(problems).toEqual([]);
    expect(books.map((b) => [b.book.name, b.hash.length])).toEqual([
      ['x', 64],
      ['y', 64],
    ]);
  });
});

describe('robustness', () => {
  // Every value of a valid book replaced, one at a time, by something of the wrong shape:
  // validation must report, never throw, and always point inside the file.
  it('never throws on misshapen values', () => {
    const source = readFileSync(join(FIXTURES, 'valid', 'postgres-deploy.book.yaml'), 'utf8');
    const base = parse(source) as unknown;
    const lines = source.split('\n').length + 2;
    let runs = 0;
    for (const path of leafPaths(base, [])) {
      for (const replacement of [null, 5, '{{', { a: [] }]) {
        const broken = stringify(replaceAt(base, path, replacement));
        const { problems } = validateBookSource('f.book.yaml', broken, ctx);
        for (const p of problems) expect([p.line >= 1 && p.line <= lines + 20, p.col >= 1]).toEqual([true, true]);
        runs++;
      }
    }
    expect(runs).toBeGreaterThan(100);
  });
});

function leafPaths(value: unknown, path: Array<string | number>): Array<Array<string | number>> {
  const here = path.length > 0 ? [path] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => leafPaths(v, [...path, i]))];
  if (value !== null && typeof value === 'object')
    return [...here, ...Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]))];
  return here;
}

function replaceAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head] = replaceAt(copy[head], rest, replacement);
  return copy;
}

describe('step limit', () => {
  it('refuses a book past 1,000 steps at its steps key, before the costly phases', () => {
    const steps = Array.from({ length: 1001 }, (_, i) => ({ name: `s${i}`, kind: 'wait', duration: '1s' }));
    const source = stringify({ name: 'big.deploy', kind: 'big', action: 'deploy', steps });
    const result = validateBookSource('big.book.yaml', source, ctx);
    expect(result.problems.map(formatProblem)).toEqual(['big.book.yaml:4:1: too many steps: 1001, the limit is 1000']);
    const atLimit = validateBookSource('big.book.yaml', stringify({ name: 'big.deploy', kind: 'big', action: 'deploy', steps: steps.slice(0, 1000) }), ctx);
    expect(atLimit.problems).toEqual([]);
  });
});
