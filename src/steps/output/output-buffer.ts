// The stored copy of a step's output (job_steps.output): its head and its tail, with the byte
// count of what was dropped in between. A deploy's failure is nearly always explained by the
// last lines, and the first lines say what was started; the middle of a 200 MB log is not
// worth a row. Memory is bounded by head + 2 × tail whatever the stream's size.

const KIB = 1024;

export interface BoundedOutputOptions {
  /** UTF-8 bytes kept from the start; default 16 KiB */
  headBytes?: number;
  /** UTF-8 bytes kept from the end; default 48 KiB */
  tailBytes?: number;
}

export class BoundedOutput {
  private readonly headMax: number;
  private readonly tailMax: number;
  private head = '';
  private headUsed = 0;
  /** once a character did not fit, nothing more goes to the head, so order is kept */
  private headClosed = false;
  /** up to 2 × tailMax UTF-16 units before trimming, so trimming is amortised */
  private tail = '';
  private total = 0;

  constructor(options: BoundedOutputOptions = {}) {
    this.headMax = options.headBytes ?? 16 * KIB;
    this.tailMax = options.tailBytes ?? 48 * KIB;
  }

  push(chunk: string): void {
    if (chunk === '') return;
    this.total += Buffer.byteLength(chunk, 'utf8');
    let rest = chunk;
    if (!this.headClosed) {
      const { units, bytes } = prefixWithin(rest, this.headMax - this.headUsed);
      this.head += rest.slice(0, units);
      this.headUsed += bytes;
      rest = rest.slice(units);
      if (rest !== '') this.headClosed = true;
    }
    if (rest === '') return;
    // Every UTF-16 unit is at least one UTF-8 byte, so the last tailMax units hold the last
    // tailMax bytes: a huge chunk is cut before it is concatenated.
    this.tail = rest.length >= this.tailMax ? rest.slice(-this.tailMax) : this.tail + rest;
    if (this.tail.length > 2 * this.tailMax) this.tail = suffixWithin(this.tail, this.tailMax);
  }

  /** UTF-8 bytes pushed so far */
  get bytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.droppedBytes(this.keptTail()) > 0;
  }

  /** The last `maxBytes` (at most tailBytes) of the stream, without a marker. */
  tailText(maxBytes = this.tailMax): string {
    const tail = this.keptTail();
    // head and tail are only contiguous when nothing was dropped between them
    return suffixWithin(this.droppedBytes(tail) > 0 ? tail : this.head + tail, maxBytes);
  }

  /** head + `\n… [N bytes truncated] …\n` + tail when something was dropped, else the whole text. */
  text(): string {
    const tail = this.keptTail();
    const dropped = this.droppedBytes(tail);
    return dropped > 0 ? `${this.head}\n… [${dropped} bytes truncated] …\n${tail}` : this.head + tail;
  }

  private keptTail(): string {
    return suffixWithin(this.tail, this.tailMax);
  }

  private droppedBytes(keptTail: string): number {
    return this.total - this.headUsed - Buffer.byteLength(keptTail, 'utf8');
  }
}

/** UTF-8 length of the code point whose first UTF-16 unit is `unit`. */
function utf8Bytes(unit: number): number {
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  if (unit >= 0xd800 && unit <= 0xdbff) return 4; // a surrogate pair counts as one 4-byte character
  return 3;
}

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** The longest prefix of `s` within `maxBytes` UTF-8 bytes, never ending inside a pair. */
function prefixWithin(s: string, maxBytes: number): { units: number; bytes: number } {
  let units = 0;
  let bytes = 0;
  while (units < s.length) {
    const unit = s.charCodeAt(units);
    const pair = isHighSurrogate(unit) && isLowSurrogate(s.charCodeAt(units + 1));
    const size = pair ? 4 : utf8Bytes(unit) === 4 ? 3 : utf8Bytes(unit); // a lone surrogate encodes as U+FFFD
    if (bytes + size > maxBytes) break;
    bytes += size;
    units += pair ? 2 : 1;
  }
  return { units, bytes };
}

/** The longest suffix of `s` within `maxBytes` UTF-8 bytes, never starting inside a pair. */
export function suffixWithin(s: string, maxBytes: number): string {
  let start = s.length;
  let bytes = 0;
  while (start > 0) {
    const unit = s.charCodeAt(start - 1);
    const pair = isLowSurrogate(unit) && start >= 2 && isHighSurrogate(s.charCodeAt(start - 2));
    const size = pair ? 4 : utf8Bytes(unit) === 4 ? 3 : utf8Bytes(unit);
    if (bytes + size > maxBytes) break;
    bytes += size;
    start -= pair ? 2 : 1;
  }
  return s.slice(start);
}
