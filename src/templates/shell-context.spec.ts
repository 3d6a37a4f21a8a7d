import { ShellScanner, type ShellHazard } from './shell-context.js';

/** The hazard at each `@` of a command line (each `@` stands for one inserted value). */
function hazards(commandLine: string): Array<ShellHazard | null> {
  const scanner = new ShellScanner();
  const found: Array<ShellHazard | null> = [];
  commandLine.split('@').forEach((text, i) => {
    if (i > 0) {
      found.push(scanner.hazard());
      scanner.insertValue();
    }
    scanner.feed(text);
  });
  return found;
}

describe('ShellScanner', () => {
  it('accepts values that stand as words or parts of words', () => {
    expect(hazards('echo @ && ls -l @/x > @.log; cp a=@ b')).toEqual([null, null, null, null]);
    expect(hazards('printf \'%s\\n\' @ "done" @')).toEqual([null, null]);
    expect(hazards('echo $(basename @) x$y@')).toEqual([null, null]);
  });

  it('finds values inside quotes, and sees where quotes end', () => {
    expect(hazards('echo "@" \'@\' "a\\"@" \'a\\\'@')).toEqual(['quotes', 'quotes', 'quotes', null]);
    expect(hazards('echo "it\'s" @')).toEqual([null]);
    expect(hazards('echo \'say "hi"\' @')).toEqual([null]);
    expect(hazards('echo "multi\nline @\n" @')).toEqual(['quotes', null]);
  });

  it('finds a value after a backslash, but not after an escaped backslash', () => {
    expect(hazards('echo \\@ \\\\@')).toEqual(['backslash', null]);
  });

  it('finds a value after $, but not after an escaped or quoted $', () => {
    expect(hazards('echo $@ \\$@ "$"@')).toEqual(['dollar', null, null]);
  });

  it('finds values in backquotes and comments', () => {
    expect(hazards('echo `cat @` @')).toEqual(['backtick', null]);
    expect(hazards('# note @\necho @ a#@')).toEqual(['comment', null, null]);
  });

  it('finds values in here-documents until their delimiter line', () => {
    expect(hazards('cat <<EOF >f\nline @\nEOF\necho @')).toEqual(['heredoc', null]);
    expect(hazards("cat <<-'END'\n\t@\n\tEND\necho @")).toEqual(['heredoc', null]);
    expect(hazards('cat << @')).toEqual(['heredoc']);
    expect(hazards('cat <<A <<B\n@\nA\n@\nB\n@')).toEqual(['heredoc', 'heredoc', null]);
    // A value never ends a here-document, even one equal to its delimiter.
    expect(hazards('cat <<EOF\n@\n@\nEOF\n@')).toEqual(['heredoc', 'heredoc', null]);
  });

  it('reads a here-string as an ordinary word', () => {
    expect(hazards('cat <<< @')).toEqual([null]);
  });

  it('follows line continuations', () => {
    expect(hazards('echo a \\\n @')).toEqual([null]);
  });

  it('keys the quoting state, not the text', () => {
    const a = new ShellScanner();
    const b = new ShellScanner();
    a.feed('echo one');
    b.feed('ls "two" three');
    expect(a.key()).toBe(b.key());
    b.feed(' "open');
    expect(a.key()).not.toBe(b.key());
    const fork = b.clone();
    fork.feed('"');
    expect(fork.key()).toBe(a.key());
    expect(b.hazard()).toBe('quotes');
  });
});
