import { SecretMasker } from './secret-masker.js';

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
