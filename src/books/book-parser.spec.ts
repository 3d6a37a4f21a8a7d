import { parseYamlWithLocations, YAML_LIMITS } from './book-parser.js';

const parse = (source: string) => parseYamlWithLocations('t.yaml', source);
const errors = (source: string) => parse(source).problems.filter((p) => p.severity === 'error');

/** Runs `fn` and fails when it takes longer than `ms`: hostile input must never hang. */
function quickly<T>(ms: number, fn: () => T): T {
  const start = performance.now();
  const out = fn();
  expect(performance.now() - start).toBeLessThan(ms);
  return out;
}

describe('parseYamlWithLocations: locations', () => {
  const source = [
    'name: demo', //                                    1
    'steps:', //                                        2
    '  - name: a', //                                   3
    '    kind: shell', //                               4
    '    run: "echo {{deployment.name}} {{params.x}}"', // 5
    '    note:', //                                     6
    '  - name: b', //                                   7
    '    run: |', //                                    8
    '      first line', //                              9
    '      echo {{steps.a.output.x}}', //              10
    '    plain: echo {{job.id}}', //                   11
    "    single: 'it''s {{book.name}}'", //            12
    '    folded: >', //                                13
    '      one', //                                     14
    '      two {{job.action}}', //                     15
    '',
  ].join('\n');
  const parsed = parse(source);

  it('returns the value', () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.value).toMatchObject({ name: 'demo', steps: [{ name: 'a' }, { name: 'b' }] });
  });

  it('points at a value, or at its key', () => {
    expect(parsed.locate(['steps', 0, 'kind'])).toEqual({ line: 4, col: 11 });
    expect(parsed.locate(['steps', 0, 'kind'], 'key')).toEqual({ line: 4, col: 5 });
    expect(parsed.locate(['steps', 1])).toEqual({ line: 7, col: 5 });
    expect(parsed.locate([])).toEqual({ line: 1, col: 1 });
  });

  it('points at the key of an empty value', () => {
    expect(parsed.locate(['steps', 0, 'note'])).toEqual({ line: 6, col: 5 });
  });

  it('falls back to the nearest ancestor for a path that is not in the file', () => {
    expect(parsed.locate(['steps', 1, 'kind'])).toEqual({ line: 7, col: 5 });
    expect(parsed.locate(['steps', 9, 'kind'])).toEqual({ line: 3, col: 3 });
  });

  it('maps a position inside a quoted scalar', () => {
    expect(parsed.locateInScalar(['steps', 0, 'run'], 1, 6)).toEqual({ line: 5, col: 16 });
    expect(parsed.locateInScalar(['steps', 0, 'run'], 1, 26)).toEqual({ line: 5, col: 36 });
    expect(parsed.locateInScalar(['steps', 0, 'run'], 1, 1)).toEqual({ line: 5, col: 11 });
  });

  it('maps a position inside a block scalar', () => {
    expect(parsed.locateInScalar(['steps', 1, 'run'], 2, 6)).toEqual({ line: 10, col: 12 });
    expect(parsed.locateInScalar(['steps', 1, 'folded'], 1, 9)).toEqual({ line: 15, col: 11 });
  });

  it('maps a position inside plain and single-quoted scalars', () => {
    expect(parsed.locateInScalar(['steps', 1, 'plain'], 1, 6)).toEqual({ line: 11, col: 17 });
    expect(parsed.locateInScalar(['steps', 1, 'single'], 1, 6)).toEqual({ line: 12, col: 20 });
  });

  it('follows aliases and merge keys', () => {
    const p = parse('base: &b { retry: 3 }\nstep:\n  <<: *b\n  own: 1\nother: *b\n');
    expect(p.value).toEqual({ base: { retry: 3 }, step: { retry: 3, own: 1 }, other: { retry: 3 } });
    expect(p.locate(['other', 'retry'])).toEqual({ line: 1, col: 19 });
    expect(p.locate(['step', 'retry'])).toEqual({ line: 3, col: 3 });
  });
});

describe('parseYamlWithLocations: broken and hostile input', () => {
  it('reports a syntax error with its position', () => {
    const [e] = errors('a: 1\nb: [1, 2\nc: 3\n');
    expect(e).toMatchObject({ file: 't.yaml', severity: 'error' });
    expect(e?.message).toMatch(/^YAML syntax error/);
    expect(e?.line).toBeGreaterThanOrEqual(2);
  });

  it('refuses tab indentation, on its line', () => {
    expect(errors('a:\n  b: 1\n\tc: 2\n')).toEqual([expect.objectContaining({ line: 3, message: expect.stringMatching(/tab/) })]);
  });

  it('names a duplicate key', () => {
    expect(errors('a: 1\n"a": 2\n')).toEqual([
      expect.objectContaining({ line: 2, col: 1, message: "duplicate key 'a': keys must be unique" }),
    ]);
  });

  it('refuses several documents in one file', () => {
    expect(errors('a: 1\n---\nb: 2\n')[0]).toMatchObject({ line: 2, message: expect.stringMatching(/one YAML document per file/) });
  });

  it.each([
    ['', 'an empty document'],
    ['# only a comment\n', 'an empty document'],
    ['- a\n- b\n', 'a list'],
    ['just text\n', 'a single value'],
  ])('refuses a top level that is not a mapping: %p', (source, got) => {
    expect(errors(source)).toEqual([expect.objectContaining({ message: `the top level must be a mapping of keys (got ${got})` })]);
  });

  it('refuses a file over 1 MiB', () => {
    const big = `a: "${'x'.repeat(YAML_LIMITS.maxBytes)}"\n`;
    expect(quickly(200, () => errors(big))).toEqual([
      expect.objectContaining({ line: 1, message: expect.stringMatching(/file too large/) }),
    ]);
  });

  it('refuses an alias bomb', () => {
    const rows = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
    ]) {
      rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const [e] = quickly(500, () => errors(rows.join('\n')));
    expect(e).toMatchObject({ line: 2, message: expect.stringMatching(/too many aliases/) });
  });

  it('refuses a recursive alias', () => {
    expect(errors('a: &x [1, *x]\n')).toEqual([expect.objectContaining({ message: expect.stringMatching(/recursive alias at a\[1\]/) })]);
  });

  it('refuses a 100,000-deep flow sequence quickly', () => {
    const deep = `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    const [e] = quickly(200, () => errors(deep));
    expect(e).toMatchObject({ line: 1, message: `nesting deeper than ${YAML_LIMITS.maxDepth} levels` });
  });

  it('refuses a bracket bomb as large as the size limit allows', () => {
    const n = YAML_LIMITS.maxBytes / 2 - 1;
    expect(quickly(300, () => errors('['.repeat(n) + ']'.repeat(n)))).toHaveLength(1);
  });

  it('refuses a deep block mapping', () => {
    let source = '';
    for (let i = 0; i < 100; i++) source += `${'  '.repeat(i)}k${i}:\n`;
    expect(quickly(300, () => errors(source))).toEqual([
      expect.objectContaining({ line: 65, message: expect.stringMatching(/nesting deeper than 64/) }),
    ]);
  });

  it('refuses a deep block mapping indented one space per level', () => {
    let source = '';
    for (let i = 0; i < 1400; i++) source += `${' '.repeat(i)}k:\n`;
    expect(quickly(500, () => errors(source))).toHaveLength(1);
  });

  it('refuses deeply nested compact sequences', () => {
    expect(quickly(300, () => errors(`${'- '.repeat(200_000)}x\n`))).toEqual([
      expect.objectContaining({ line: 1, message: expect.stringMatching(/nesting deeper/) }),
    ]);
  });

  it('refuses nesting that only the exact check sees (sequences at their key column)', () => {
    // the token scan counts one level per line here, the truth is two
    const rows = ['k0:'];
    for (let i = 0; i < 40; i++) rows.push(`${'  '.repeat(i)}- k${i + 1}:`);
    const [e] = errors(rows.join('\n') + '\n');
    expect(e?.message).toMatch(/^nesting deeper than 64 levels at k0\[0\]/);
    expect(e?.line).toBe(33);
  });

  it('accepts nesting up to the limit', () => {
    const ok = `a: ${'['.repeat(63)}1${']'.repeat(63)}\n`;
    expect(errors(ok)).toEqual([]);
  });
});
