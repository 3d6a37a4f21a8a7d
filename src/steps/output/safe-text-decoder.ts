// Process output is bytes; everything downstream (log events, the `output` text column) wants
// valid text. StringDecoder keeps a multi-byte character cut between two chunks whole and
// turns invalid UTF-8 into U+FFFD. NUL is valid UTF-8 but PostgreSQL text cannot store it,
// so it becomes U+FFFD as well: one replacement character for everything unprintable-as-stored.
import { StringDecoder } from 'node:string_decoder';

export const REPLACEMENT = '\uFFFD';

export class SafeTextDecoder {
  private readonly decoder = new StringDecoder('utf8');

  write(bytes: Buffer): string {
    return withoutNul(this.decoder.write(bytes));
  }

  /** What is left at the end of the stream: an incomplete character becomes U+FFFD. */
  end(): string {
    return withoutNul(this.decoder.end());
  }
}

export function withoutNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', REPLACEMENT) : text;
}
