import { BoundedOutput } from './output-buffer.js';

describe('BoundedOutput', () => {
  it('keeps short output whole', () => {
    const out = new BoundedOutput({ headBytes: 10, tailBytes: 10 });
    out.push('hello ');
    out.push('world');
    expect(out.text()).toBe('hello world');
    expect(out.bytes).toBe(11);
    expect(out.truncated).toBe(false);
  });
  it('keeps exactly head + tail without a marker', () => {
    const out = new BoundedOutput({ headBytes: 4, tailBytes: 4 });
    out.push('abcdefgh');
    expect(out.text()).toBe('abcdefgh');
  });
  it('keeps the head and the tail with the dropped byte count between', () => {
    const out = new BoundedOutput({ headBytes: 4, tailBytes: 6 });
    for (const c of 'abcdefghijklmnopqrstuvwxyz') out.push(c);
    expect(out.text()).toBe('abcd\n… [16 bytes truncated] …\nuvwxyz');
    expect(out.bytes).toBe(26);
    expect(out.truncated).toBe(true);
  });
  it('handles a single huge chunk', () => {
    const out = new BoundedOutput({ headBytes: 3, tailBytes: 3 });
    out.push('x'.repeat(1_000_000) + 'END');
    expect(out.text()).toBe(`xxx\n… [${1_000_000 - 3} bytes truncated] …\nEND`);
  });
  it('counts UTF-8 bytes and never splits a character or a surrogate pair', () => {
    const out = new BoundedOutput({ headBytes: 5, tailBytes: 5 });
    // é is 2 bytes, 😀 is 4 bytes (a UTF-16 surrogate pair)
    out.push('éé😀');
    out.push('middle');
    out.push('😀é');
    const text = out.text();
    expect(out.bytes).toBe(4 + 4 + 6 + 4 + 2);
    // 😀 would make the head 8 bytes and the tail 6: both stop before it
    expect(text).toBe('éé\n… [14 bytes truncated] …\né');
    const big = new BoundedOutput({ headBytes: 6, tailBytes: 6 });
    big.push('😀😀😀😀😀😀');
    expect(big.text()).toBe('😀\n… [16 bytes truncated] …\n😀');
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    const dropped = Number(/\[(\d+) bytes truncated\]/.exec(text)?.[1]);
    expect(dropped + Buffer.byteLength(text.replace(/\n… \[\d+ bytes truncated\] …\n/, ''))).toBe(out.bytes);
  });
  it('stays bounded in memory whatever the stream size', () => {
    const out = new BoundedOutput({ headBytes: 16, tailBytes: 64 });
    const chunk = 'line of output\n'.repeat(100);
    for (let i = 0; i < 10_000; i++) out.push(chunk);
    const internal = out as unknown as { head: string; tail: string };
    expect(internal.head.length).toBeLessThanOrEqual(16);
    expect(internal.tail.length).toBeLessThanOrEqual(2 * 64 + chunk.length);
    expect(out.bytes).toBe(chunk.length * 10_000);
  });
  it('tailText gives the last bytes, contiguous', () => {
    const out = new BoundedOutput({ headBytes: 4, tailBytes: 8 });
    out.push('0123456789abcdef');
    expect(out.tailText(5)).toBe('bcdef');
    const short = new BoundedOutput({ headBytes: 4, tailBytes: 8 });
    short.push('ab\ncd\nef');
    expect(short.tailText()).toBe('ab\ncd\nef');
  });
});
