// `::output key=value` lines on a shell step's stdout set `steps.<name>.output.key`
// (BOOKS.md section 4), once tokenised: only `::output::<token> key=value`, with the attempt's
// token, counts (output-marker.ts says why). Chunks are cut anywhere, so lines are reassembled
// here; only a line that can still become an `::output` line is buffered, so ordinary output
// costs no memory.
import { outputPrefix } from './output-marker.js';
export const OUTPUT_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** A longer `::output` line is ignored rather than buffered without bound. */
export const MAX_OUTPUT_LINE = 64 * 1024;
/** New keys past this many are ignored: a runaway loop must not fill the outputs column. */
export const MAX_OUTPUT_KEYS = 1000;

/** `{ key, value }` for an `::output::<token> key=value` line (without its newline), else null. */
export function parseOutputLine(line: string, token: string): { key: string; value: string } | null {
  const prefix = outputPrefix(token);
  if (!line.startsWith(prefix)) return null;
  const body = line.slice(prefix.length);
  const eq = body.indexOf('=');
  if (eq <= 0) return null;
  const key = body.slice(0, eq);
  return OUTPUT_KEY.test(key) ? { key, value: body.slice(eq + 1) } : null;
}

export class OutputLineParser {
  readonly outputs: Record<string, string> = {};
  private readonly prefix: string;
  private keys = 0;
  private line = '';
  /** the current line already proved not to be an `::output` line (or too long) */
  private skipping = false;

  /** `token`: the attempt's, as given to the step in QUIRE_OUTPUT_TOKEN */
  constructor(private readonly token: string) {
    this.prefix = outputPrefix(token);
  }

  push(chunk: string): void {
    for (let start = 0; ;) {
      const nl = chunk.indexOf('\n', start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.skipping && end > start) this.append(chunk.slice(start, end));
      if (nl === -1) return;
      this.endLine();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  flush(): void {
    this.endLine();
  }

  private append(piece: string): void {
    this.line += piece;
    const head = this.line.slice(0, this.prefix.length);
    if (!this.prefix.startsWith(head) || this.line.length > MAX_OUTPUT_LINE) {
      this.line = '';
      this.skipping = true;
    }
  }

  private endLine(): void {
    const line = this.line.replace(/\r$/, '');
    this.line = '';
    this.skipping = false;
    const parsed = line === '' ? null : parseOutputLine(line, this.token);
    if (!parsed) return;
    if (!Object.hasOwn(this.outputs, parsed.key)) {
      if (this.keys >= MAX_OUTPUT_KEYS) return;
      this.keys++;
    }
    // defineProperty, not assignment: a key named `__proto__` must stay a plain key
    Object.defineProperty(this.outputs, parsed.key, { value: parsed.value, enumerable: true, writable: true, configurable: true });
  }
}
