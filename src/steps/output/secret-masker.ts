// Masks secret values wherever step output or messages would show them (BOOKS.md section 4,
// `secrets`). Output arrives in chunks cut anywhere, so the streaming side holds back the last
// maxLen - 1 characters: a secret that starts inside them may continue in the next chunk.

export const MASK = '***';
/** Shorter values are ignored: masking `on` or `1` would blank out ordinary text everywhere. */
export const MIN_SECRET_LENGTH = 4;

export class SecretMasker {
  /** longest first, so a secret containing another is masked whole */
  private readonly secrets: string[];
  private readonly maxLen: number;
  private carry = '';

  constructor(values: Iterable<string>) {
    this.secrets = [...new Set(values)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
    this.maxLen = this.secrets[0]?.length ?? 0;
  }

  /** false when there is nothing to mask */
  get active(): boolean {
    return this.maxLen > 0;
  }

  /** Masks a whole string (a message, an output value). */
  mask(text: string): string {
    if (this.maxLen === 0) return text;
    const { out, next } = this.scan(text, text.length);
    return out + text.slice(next);
  }

  /** Masks a chunk of a stream; may hold back its end until the next push or flush. */
  push(chunk: string): string {
    if (this.maxLen === 0) return chunk;
    const text = this.carry + chunk;
    let safe = Math.max(0, text.length - (this.maxLen - 1));
    // never hand out half of a surrogate pair: a consumer may send each piece on its own
    if (safe > 0 && isHighSurrogate(text.charCodeAt(safe - 1))) safe--;
    const { out, next } = this.scan(text, safe);
    this.carry = text.slice(next);
    return out;
  }

  /** The held-back end of the stream, masked: only when the stream ends, or a secret cut there leaks. */
  flush(): string {
    const rest = this.mask(this.carry);
    this.carry = '';
    return rest;
  }

  /**
   * Copies `text` up to `end`, masking every secret that starts before `end`. A match starting
   * before `end` lies wholly inside `text` (end ≤ length - maxLen + 1), so it is never cut.
   * Returns the masked text and where copying stopped (past `end` when a match ran over it).
   */
  private scan(text: string, end: number): { out: string; next: number } {
    // Each secret's next occurrence, searched again only once it falls behind `i`: one pass per
    // secret over the text instead of one per match.
    const next = this.secrets.map((secret) => text.indexOf(secret));
    let out = '';
    let i = 0;
    while (i < end) {
      let best = -1;
      for (let k = 0; k < next.length; k++) {
        let at = next[k] ?? -1;
        if (at !== -1 && at < i) next[k] = at = text.indexOf(this.secrets[k] ?? '', i);
        // ties go to the earlier, longer secret
        if (at !== -1 && (best === -1 || at < (next[best] ?? -1))) best = k;
      }
      const at = best === -1 ? -1 : (next[best] ?? -1);
      if (at === -1 || at >= end) {
        out += text.slice(i, end);
        return { out, next: end };
      }
      out += text.slice(i, at) + MASK;
      i = at + (this.secrets[best]?.length ?? 0);
    }
    return { out, next: i };
  }
}

/**
 * A copy of a JSON value with every secret masked: strings, object keys, and numbers or booleans
 * whose text is a secret (which become strings). Iterative, since a response body parsed from
 * JSON may nest deeper than the call stack.
 */
export function maskDeep(value: unknown, masker: SecretMasker): unknown {
  if (!masker.active) return value;
  const work: [from: object, to: unknown[] | Record<string, unknown>][] = [];
  const copy = (item: unknown): unknown => {
    if (typeof item === 'string') return masker.mask(item);
    if (typeof item === 'number' || typeof item === 'boolean') {
      const masked = masker.mask(String(item));
      return masked === String(item) ? item : masked;
    }
    if (item === null || typeof item !== 'object') return item;
    const to = Array.isArray(item) ? [] : {};
    work.push([item, to]);
    return to;
  };
  const root = copy(value);
  for (let next = work.pop(); next; next = work.pop()) {
    const [from, to] = next;
    if (Array.isArray(to)) {
      for (const item of from as unknown[]) to.push(copy(item));
      continue;
    }
    // defineProperty, not assignment: a key `__proto__` from JSON.parse must stay a plain key
    for (const [key, item] of Object.entries(from)) {
      Object.defineProperty(to, masker.mask(key), { value: copy(item), enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
