import { SecretMasker, maskDeep } from './secret-masker.js';

describe('SecretMasker', () => {
  it('masks whole strings, longest secret first', () => {
    const masker = new SecretMasker(['hunter2!', 'hunter2!-extended', 'tok3n']);
    expect(masker.mask('pw=hunter2! long=hunter2!-extended t=tok3ntok3n')).toBe('pw=*** long=*** t=******');
  });
  it('ignores empty and very short values', () => {
    const masker = new SecretMasker(['', 'a', 'abc', 'abcd']);
    expect(masker.mask('a abc abcd')).toBe('a abc ***');
  });
  it('passes text through when there is no secret', () => {
    const masker = new SecretMasker([]);
    expect(masker.push('abc')).toBe('abc');
    expect(masker.flush()).toBe('');
  });
  it('masks a secret split across chunks', () => {
    const masker = new SecretMasker(['s3cr3t-value']);
    const out = ['token: s3c', 'r3t-va', 'lue and more', ' text'].map((c) => masker.push(c)).join('') + masker.flush();
    expect(out).toBe('token: *** and more text');
  });
  it('releases what may start a secret only with the next push, or the flush at the end', () => {
    const masker = new SecretMasker(['hunter2secret']);
    expect(masker.push('token=hunter2')).toBe('t');
    expect(masker.push('secret!')).toBe('oken=***');
    expect(masker.flush()).toBe('!');
  });
  it('masks under every chunking of the stream', () => {
    const secrets = ['password1', 'word1234', 'ABCDEFGH'];
    const text = 'x password1234 y ABCDEFGHABCDEFGH word1234 zzz password1';
    const expected = new SecretMasker(secrets).mask(text);
    expect(expected).toBe('x ***234 y ****** *** zzz ***');
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const masker = new SecretMasker(secrets);
      let out = '';
      for (let i = 0; i < text.length;) {
        const n = 1 + Math.floor(random() * 12);
        out += masker.push(text.slice(i, i + n));
        i += n;
      }
      expect(out + masker.flush()).toBe(expected);
    }
  });
  it('does not hand out half of a surrogate pair', () => {
    const masker = new SecretMasker(['abcdef']);
    const piece = masker.push('x😀yz');
    expect(piece).not.toMatch(/[\uD800-\uDBFF]$/);
    expect(piece + masker.flush()).toBe('x😀yz');
  });
});

describe('maskDeep', () => {
  const masker = new SecretMasker(['hunter2secret', '12345678']);

  it('masks every string of a nested value, keys included, and keeps its shape', () => {
    const value = {
      line: 'key=hunter2secret',
      body: { items: ['a', 'x hunter2secret y', { hunter2secret: true }], count: 3, none: null },
      status: 200,
    };
    expect(maskDeep(value, masker)).toEqual({
      line: 'key=***',
      body: { items: ['a', 'x *** y', { '***': true }], count: 3, none: null },
      status: 200,
    });
    expect(value.line).toBe('key=hunter2secret'); // a copy: the input is left as it was
  });

  it('masks a number or boolean whose text is a secret, as a string', () => {
    expect(maskDeep({ pin: 12345678, other: 1234 }, masker)).toEqual({ pin: '***', other: 1234 });
  });

  it('keeps a key named __proto__ as data', () => {
    const masked = maskDeep(JSON.parse('{"__proto__": {"polluted": "hunter2secret"}}'), masker) as Record<string, unknown>;
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(masked, '__proto__')?.value).toEqual({ polluted: '***' });
  });

  it('handles nesting deeper than the call stack would allow', () => {
    const depth = 20_000;
    const deep = JSON.parse('['.repeat(depth) + '"hunter2secret"' + ']'.repeat(depth)) as unknown;
    let node = maskDeep(deep, masker);
    for (let i = 0; i < depth; i++) node = (node as unknown[])[0];
    expect(node).toBe('***');
  });

  it('returns the value itself when there is no secret', () => {
    const value = { a: 'hunter2secret' };
    expect(maskDeep(value, new SecretMasker([]))).toBe(value);
  });
});
