import { SafeTextDecoder } from './safe-text-decoder.js';

describe('SafeTextDecoder', () => {
  it('keeps a character cut between chunks whole', () => {
    const bytes = Buffer.from('é😀', 'utf8');
    const decoder = new SafeTextDecoder();
    const text = [...bytes].map((b) => decoder.write(Buffer.from([b]))).join('') + decoder.end();
    expect(text).toBe('é😀');
  });
  it('replaces invalid UTF-8 and NUL with U+FFFD', () => {
    const decoder = new SafeTextDecoder();
    expect(decoder.write(Buffer.from([0x61, 0xff, 0x00, 0x62])) + decoder.end()).toBe('a\uFFFD\uFFFDb');
  });
  it('ends an incomplete character as U+FFFD', () => {
    const decoder = new SafeTextDecoder();
    expect(decoder.write(Buffer.from([0x61, 0xe2, 0x82])) + decoder.end()).toBe('a\uFFFD');
  });
});
