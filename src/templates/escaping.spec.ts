import { execFileSync } from 'node:child_process';

import { escapeUrlValue, headerValue, shellWord, urlPosition } from './escaping.js';
import { TemplateError } from './template.types.js';

/** Runs `printf '%s\n' WORD` in /bin/sh, without PATH so that no program could be found. */
function shellEcho(word: string): string {
  return execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${word}`], { encoding: 'utf8', env: { PATH: '' } });
}

describe('shellWord', () => {
  it('leaves words made of safe characters unquoted', () => {
    expect(shellWord('postgres:15')).toBe('postgres:15');
    expect(shellWord('/srv/shop-db/15.2')).toBe('/srv/shop-db/15.2');
    expect(shellWord('a_b@c%d+e=f,g')).toBe('a_b@c%d+e=f,g');
  });

  it('writes the empty string as an empty quoted word', () => {
    expect(shellWord('')).toBe("''");
  });

  it("single-quotes everything else, a quote written as '\\''", () => {
    expect(shellWord('x; rm -rf /')).toBe("'x; rm -rf /'");
    expect(shellWord('$(reboot)')).toBe("'$(reboot)'");
    expect(shellWord("a'b")).toBe("'a'\\''b'");
    expect(shellWord('a b')).toBe("'a b'");
  });

  it('refuses a NUL byte', () => {
    expect(() => shellWord('a\0b')).toThrow(TemplateError);
  });

  it.each([
    'x; rm -rf /',
    '$(reboot)',
    '`id`',
    "a'b",
    "''",
    'line1\nline2',
    '"double" \\ backslash',
    '*',
    '~root',
    '$HOME ${HOME}',
    'a  b\tc',
    '&& echo pwned #',
    '-n',
    '',
    'héllo ✓',
  ])('keeps %j one inert word for /bin/sh', (value) => {
    expect(shellEcho(shellWord(value))).toBe(`${value}\n`);
  });
});

describe('headerValue', () => {
  it('accepts ordinary text', () => {
    expect(headerValue('Bearer abc.def')).toBe('Bearer abc.def');
  });

  it.each(['a\r\nX-Evil: 1', 'a\nb', 'a\rb', 'a\0b'])('refuses %j', (value) => {
    expect(() => headerValue(value)).toThrow(TemplateError);
  });
});

describe('urlPosition', () => {
  it.each([
    ['', 'base'],
    ['http://', 'authority'],
    ['https://user@', 'authority'],
    ['http://h:', 'authority'],
    ['http://h/', 'path'],
    ['http://h/a/', 'path'],
    ['http://h/a?x=', 'query'],
    ['http://h?x=', 'query'],
    ['http://h/a?x=1#', 'fragment'],
    ['http://h#', 'fragment'],
    ['/api/', 'path'],
    ['/api?q=', 'query'],
  ])('after %j is %s', (preceding, position) => {
    expect(urlPosition(preceding)).toBe(position);
  });
});

describe('escapeUrlValue', () => {
  describe('base', () => {
    it('inserts an absolute http(s) URL as is', () => {
      expect(escapeUrlValue('http://registry.internal', 'base', '/instances')).toBe('http://registry.internal');
      expect(escapeUrlValue('https://r.example:8443/api', 'base')).toBe('https://r.example:8443/api');
    });

    it('drops trailing slashes when the template continues with one', () => {
      expect(escapeUrlValue('http://registry.internal/', 'base', '/instances')).toBe('http://registry.internal');
      expect(escapeUrlValue('http://registry.internal/', 'base', '')).toBe('http://registry.internal/');
    });

    it('keeps a query when the URL ends with the value, refuses it when the URL continues', () => {
      expect(escapeUrlValue('http://h/x?a=1', 'base')).toBe('http://h/x?a=1');
      expect(() => escapeUrlValue('http://h/x?a=1', 'base', '/more')).toThrow(TemplateError);
      expect(() => escapeUrlValue('http://h/x#f', 'base', '/more')).toThrow(TemplateError);
    });

    it.each(['registry.internal', 'ftp://h/x', 'javascript:alert(1)', 'file:///etc/passwd', 'http://h/a b', 'http://h/\nx', ''])(
      'refuses %j',
      (value) => {
        expect(() => escapeUrlValue(value, 'base', '/x')).toThrow(TemplateError);
      },
    );
  });

  describe('authority', () => {
    it.each(['10.0.0.5', 'db.internal', 'db-1.internal:5432', '[::1]', '[::1]:8008'])('accepts %j', (value) => {
      expect(escapeUrlValue(value, 'authority')).toBe(value);
    });

    it.each(['evil.com/x', 'user@evil.com', 'h?x', 'h#x', 'h x', '', 'h%2f', 'h\\evil'])('refuses %j', (value) => {
      expect(() => escapeUrlValue(value, 'authority')).toThrow(TemplateError);
    });
  });

  describe('path, query and fragment', () => {
    it('percent-encodes every structural character', () => {
      expect(escapeUrlValue('a/b?c#d e', 'path')).toBe('a%2Fb%3Fc%23d%20e');
      expect(escapeUrlValue('a&b=c', 'query')).toBe('a%26b%3Dc');
      expect(escapeUrlValue('#x y', 'fragment')).toBe('%23x%20y');
      expect(escapeUrlValue('%2e%2e', 'path')).toBe('%252e%252e');
    });

    it('refuses . and .. as path values', () => {
      expect(() => escapeUrlValue('..', 'path')).toThrow(TemplateError);
      expect(() => escapeUrlValue('.', 'path')).toThrow(TemplateError);
      expect(escapeUrlValue('...', 'path')).toBe('...');
      expect(escapeUrlValue('v1..2', 'path')).toBe('v1..2');
    });

    it.each(['../../admin', 'a/b', '?admin=1', '#top', '..%2f', ' x'])('keeps %j inside its path segment', (value) => {
      const url = new URL(`http://h/api/${escapeUrlValue(value, 'path')}/end`);
      expect(url.host).toBe('h');
      expect(url.search).toBe('');
      expect(url.hash).toBe('');
      expect(url.pathname.split('/')).toHaveLength(4);
      expect(decodeURIComponent(url.pathname.split('/')[2]!)).toBe(value);
    });
  });
});
