// Follows the literal text of a `run` template the way /bin/sh reads it, to know what
// surrounds each `{{value}}`. A value is quoted as one shell word, which is only safe where the
// shell would read a word: not inside quotes the author wrote, after a backslash, after `$`,
// in backquotes, in a comment or in a here-document.

/** Why a value cannot stand at the current place of a command line. */
export type ShellHazard = 'quotes' | 'backslash' | 'dollar' | 'backtick' | 'comment' | 'heredoc';

export const SHELL_HAZARD_MESSAGES: Readonly<Record<ShellHazard, string>> = {
  quotes:
    'stands inside quotes written in the template, which would defeat its quoting: remove the quotes, ' +
    'every value is already quoted as one shell word',
  backslash: "follows a backslash, which would escape the value's opening quote",
  dollar: "follows `$`, and bash reads `$'...'` as an escape string: move the `$` out of the way",
  backtick: 'stands inside backquotes, where quoting is unreliable: use $(...) instead',
  comment: 'stands inside a shell comment, where a newline in the value would end the comment and run the rest',
  heredoc: 'stands inside a here-document, where quoting does not apply: pass the value as an argument or in env',
};

interface Heredoc {
  delimiter: string;
  /** `<<-` strips leading tabs before comparing lines with the delimiter. */
  stripTabs: boolean;
}

/** The delimiter word being read after `<<`. */
interface PendingDelimiter extends Heredoc {
  started: boolean;
}

const OPERATORS = ';&|()>';

export class ShellScanner {
  private quote: 'none' | 'single' | 'double' = 'none';
  /** A backslash outside single quotes waits for the character it escapes. */
  private escaped = false;
  private backtick = false;
  private comment = false;
  /** The next character starts a word, so `#` there starts a comment. */
  private wordStart = true;
  /** The last unquoted, unescaped character. */
  private previous = '';
  private lessThanRun = 0;
  private delimiter: PendingDelimiter | null = null;
  /** Here-documents whose bodies start at the next newline, in order. */
  private pending: Heredoc[] = [];
  private body: { heredoc: Heredoc; line: string } | null = null;

  /** Reads literal template text. */
  feed(text: string): void {
    for (const ch of text) this.step(ch);
  }

  /** Reads an inserted value: one word, or part of one. */
  insertValue(): void {
    // U+0001 cannot occur in a delimiter the author wrote, so a value never ends a here-document.
    if (this.body) this.body.line += '\u0001';
    else if (this.delimiter) this.appendDelimiter('\u0001');
    else if (!this.comment && this.quote === 'none') {
      this.escaped = false;
      this.wordStart = false;
      this.previous = 'v';
      this.lessThanRun = 0;
    }
  }

  /** Why a value cannot be inserted here, or null when it can. */
  hazard(): ShellHazard | null {
    if (this.body || this.delimiter) return 'heredoc';
    if (this.comment) return 'comment';
    if (this.quote !== 'none') return 'quotes';
    if (this.escaped) return 'backslash';
    if (this.backtick) return 'backtick';
    if (this.previous === '$') return 'dollar';
    return null;
  }

  /** The quoting state, to check that a block leaves it as it found it. */
  key(): string {
    const { quote, escaped, backtick, comment, delimiter, pending } = this;
    return JSON.stringify({ quote, escaped, backtick, comment, delimiter, pending, body: this.body?.heredoc });
  }

  clone(): ShellScanner {
    const copy = Object.assign(new ShellScanner(), this);
    copy.delimiter = this.delimiter && { ...this.delimiter };
    copy.pending = [...this.pending];
    copy.body = this.body && { ...this.body };
    return copy;
  }

  private step(ch: string): void {
    if (this.body) this.stepHeredocBody(ch);
    else if (this.comment) this.stepComment(ch);
    else if (this.escaped) this.stepEscaped(ch);
    else if (this.quote === 'single') this.stepSingle(ch);
    else if (this.quote === 'double') this.stepDouble(ch);
    else this.stepUnquoted(ch);
  }

  private stepHeredocBody(ch: string): void {
    const body = this.body!;
    if (ch !== '\n') {
      body.line += ch;
      return;
    }
    const line = body.heredoc.stripTabs ? body.line.replace(/^\t+/, '') : body.line;
    if (line === body.heredoc.delimiter) this.startNextBody();
    else body.line = '';
  }

  private stepComment(ch: string): void {
    if (ch !== '\n') return;
    this.comment = false;
    this.newline();
  }

  private stepEscaped(ch: string): void {
    this.escaped = false;
    this.previous = '';
    // backslash-newline is a line continuation: it joins lines and is no character.
    if (ch === '\n') return;
    this.wordStart = false;
    this.appendDelimiter(ch);
  }

  private stepSingle(ch: string): void {
    if (ch === "'") this.quote = 'none';
    else this.appendDelimiter(ch);
  }

  private stepDouble(ch: string): void {
    if (ch === '\\') this.escaped = true;
    else if (ch === '"') this.quote = 'none';
    else if (ch === '`') this.backtick = !this.backtick;
    else this.appendDelimiter(ch);
  }

  private stepUnquoted(ch: string): void {
    if (ch !== '<') this.lessThanRun = 0;
    if (ch === '\\') this.escaped = true;
    else if (ch === "'" || ch === '"') this.openQuote(ch);
    else if (ch === '`') this.backtick = !this.backtick;
    else if (ch === '#' && this.wordStart) this.comment = true;
    else if (ch === '\n') this.newline();
    else if (ch === ' ' || ch === '\t') this.endWord();
    else if (ch === '<') this.lessThan();
    else if (OPERATORS.includes(ch)) this.endWord();
    else this.wordChar(ch);
    // A backslash is consumed with its character; remember only what the shell sees as is.
    this.previous = ch === '\\' ? '' : ch;
    if (ch === '\\' || ch === '`') this.wordStart = false;
  }

  private openQuote(ch: "'" | '"'): void {
    this.quote = ch === "'" ? 'single' : 'double';
    this.wordStart = false;
    if (this.delimiter) this.delimiter.started = true;
  }

  private wordChar(ch: string): void {
    this.wordStart = false;
    const delimiter = this.delimiter;
    // `<<-WORD`: the dash right after `<<` is part of the operator, not of the word.
    if (delimiter && !delimiter.started && ch === '-' && this.previous === '<') delimiter.stripTabs = true;
    else this.appendDelimiter(ch);
  }

  private appendDelimiter(ch: string): void {
    if (!this.delimiter) return;
    this.delimiter.delimiter += ch;
    this.delimiter.started = true;
  }

  /** Blanks and operators end a word, and with it a here-document delimiter being read. */
  private endWord(): void {
    this.wordStart = true;
    if (this.delimiter?.started) {
      const { delimiter, stripTabs } = this.delimiter;
      this.pending.push({ delimiter, stripTabs });
      this.delimiter = null;
    }
  }

  private lessThan(): void {
    this.lessThanRun += 1;
    if (this.lessThanRun === 1) this.endWord();
    else if (this.lessThanRun === 2) this.delimiter = { delimiter: '', stripTabs: false, started: false };
    else this.delimiter = null; // `<<<` is a here-string: its word is an ordinary word
    this.wordStart = true;
  }

  private newline(): void {
    this.endWord();
    this.delimiter = null; // `<<` without a word is a shell syntax error, nothing to follow
    this.startNextBody();
  }

  private startNextBody(): void {
    const next = this.pending.shift();
    this.body = next ? { heredoc: next, line: '' } : null;
    this.wordStart = true;
  }
}
