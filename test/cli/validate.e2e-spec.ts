// `quire validate` as a book author runs it: the real command, its output and exit code.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const quire = (...args: string[]) => spawnSync('node', ['bin/quire.js', ...args], { encoding: 'utf8' });
const INVALID = 'test/fixtures/books/invalid';

describe('quire validate', () => {
  it('passes the example books and the valid fixtures', () => {
    const result = quire('validate', 'books/', 'test/fixtures/books/valid');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('prints file:line:col: message for every invalid fixture and exits 1', () => {
    // subfolders hold sets of files that are wrong together (duplicate-action/a and b)
    const files = readdirSync(INVALID, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    // One run for all of them: each file must have its own located problem in the output.
    const result = quire('validate', ...files.map((f) => join(INVALID, f)));
    expect(result.status).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines.every((l) => /^[^:]+:\d+:\d+: \S/.test(l))).toBe(true);
    for (const file of files) {
      const path = join(INVALID, file);
      const first = readFileSync(path, 'utf8').split('\n')[0]!;
      // a set's member without `# expect:` (the target of a link) is valid, and nothing names it
      if (!first.startsWith('# expect:')) {
        expect({ file, lines: lines.filter((l) => l.startsWith(`${path}:`)) }).toEqual({ file, lines: [] });
        continue;
      }
      // `# expect: <text> ; line N`, as in the contract kit: texts to find, and the line.
      const parts = first
        .replace(/^# expect:\s*/, '')
        .split(';')
        .map((x) => x.trim());
      const line = parts.map((p) => /^line (\d+)$/.exec(p)?.[1]).find(Boolean);
      const texts = parts.filter((p) => p && !/^line \d+$/.test(p));
      const own = lines.filter((l) => l.startsWith(`${path}:`) && texts.every((t) => l.toLowerCase().includes(t.toLowerCase())));
      expect({ file, found: own.length > 0 }).toEqual({ file, found: true });
      if (line) expect({ file, at: own.some((l) => l.startsWith(`${path}:${line}:`)) }).toEqual({ file, at: true });
    }
  });

  it('reports a duplicate (kind, action) only for the pair made for it', () => {
    const result = quire('validate', `${INVALID}/`);
    const duplicates = result.stdout.split('\n').filter((l) => / duplicate (action|book name) /.test(l));
    expect(duplicates.map((l) => l.replace(/: also in .*/, ''))).toEqual([
      `${INVALID}/duplicate-action/a.book.yaml:4:9: duplicate action 'rollout' for kind 'demo'`,
      `${INVALID}/duplicate-action/b.book.yaml:5:9: duplicate action 'rollout' for kind 'demo'`,
    ]);
  });

  it('reports every problem of a file at once', () => {
    const result = quire('validate', join(INVALID, 'unknown-top-key.book.yaml'), join(INVALID, 'priority-range.book.yaml'));
    expect(result.status).toBe(1);
    expect(result.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);
    expect(result.stderr).toMatch(/2 file\(s\) checked: \d+ error/);
  });
});
