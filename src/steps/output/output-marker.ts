// `::output` lines must come from the book's author, never from data a step echoes (a
// parameter holding "\n::output release=evil" would otherwise set outputs that later steps
// trust). So each attempt of a shell step gets a random token, and only lines
// `::output::<token> key=value` count. The author keeps writing `::output key=value`: where
// those words stand in the text of `run` or `argv` as written (never inside a `{{value}}`), the
// step runner rewrites them to the tokenised form before the command starts. A script the step
// calls reads the token from QUIRE_OUTPUT_TOKEN.
import { randomBytes } from 'node:crypto';

export const OUTPUT_TOKEN_ENV = 'QUIRE_OUTPUT_TOKEN';

/** What authors write, and how it is found in their text. */
export const AUTHORED_MARKER = '::output ';
const AUTHORED = /::output /g;

/** A fresh token for one attempt: 128 random bits, hex (no character a shell treats specially). */
export function newOutputToken(): string {
  return randomBytes(16).toString('hex');
}

/** The start of a line that sets an output in an attempt holding `token`. */
export function outputPrefix(token: string): string {
  return `::output::${token} `;
}

/** Rewrites every authored `::output ` of a piece of the author's own text for `token`. */
export function markAuthoredOutputs(text: string, token: string): string {
  return text.replace(AUTHORED, outputPrefix(token));
}

/**
 * What people see of stdout: each tokenised marker at a line start shown as the author wrote it,
 * `::output `, so the token is never stored, streamed or shown in a failure message (someone
 * watching could otherwise pass it into data the step reads later). Only a line start that may
 * still become the marker is held back, never more than the marker's length.
 */
export class MarkerDisplay {
  private readonly prefix: string;
  private held = '';
  private atLineStart = true;

  constructor(token: string) {
    this.prefix = outputPrefix(token);
  }

  push(chunk: string): string {
    const text = this.held + chunk;
    this.held = '';
    let out = '';
    for (let i = 0; i < text.length; ) {
      if (this.atLineStart) {
        const head = text.slice(i, i + this.prefix.length);
        if (head === this.prefix) {
          out += AUTHORED_MARKER;
          i += head.length;
        } else if (head.length < this.prefix.length && this.prefix.startsWith(head)) {
          // the text ends inside what may be the marker: decide with the next chunk
          this.held = head;
          return out;
        }
        this.atLineStart = false;
        continue;
      }
      const nl = text.indexOf('\n', i);
      if (nl === -1) return out + text.slice(i);
      out += text.slice(i, nl + 1);
      i = nl + 1;
      this.atLineStart = true;
    }
    return out;
  }

  /** The stream ended: a held line start was not the marker. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
