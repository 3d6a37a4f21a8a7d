import { formatDuration, isTruthy, templateHelpers } from './template-helpers.js';
import { TemplateError } from './template.types.js';

/** What Handlebars appends to every helper call. */
const options = { name: 'x', hash: {}, data: {}, loc: {} };

function call(name: string, ...args: unknown[]): unknown {
  const helper = templateHelpers[name];
  if (!helper) throw new Error(`no helper ${name}`);
  return helper(...args, options);
}

describe('template helpers', () => {
  it('registers exactly the helpers of BOOKS.md', () => {
    expect(Object.keys(templateHelpers).sort()).toEqual(
      ['and', 'default', 'duration', 'eq', 'join', 'json', 'lower', 'ne', 'not', 'or', 'upper'].sort(),
    );
  });

  it('default: the value when set and not null, else the fallback', () => {
    expect(call('default', 5433, 5432)).toBe(5433);
    expect(call('default', undefined, 5432)).toBe(5432);
    expect(call('default', null, 'x')).toBe('x');
    expect(call('default', 0, 5)).toBe(0);
    expect(call('default', '', 'x')).toBe('');
    expect(call('default', false, true)).toBe(false);
    expect(call('default', undefined)).toBeUndefined();
  });

  it('works when called without the options object too', () => {
    expect(templateHelpers.default!(undefined, 1)).toBe(1);
    expect(templateHelpers.join!(['a', 'b'])).toBe('a, b');
  });

  it('json: JSON text, optionally indented', () => {
    expect(call('json', { a: [1, 'b'] })).toBe('{"a":[1,"b"]}');
    expect(call('json', 'x')).toBe('"x"');
    expect(call('json', undefined)).toBe('null');
    expect(call('json', { a: 1 }, 2)).toBe('{\n  "a": 1\n}');
  });

  it('eq and ne compare strictly', () => {
    expect(call('eq', 'a', 'a')).toBe(true);
    expect(call('eq', 1, '1')).toBe(false);
    expect(call('ne', 1, 2)).toBe(true);
    expect(call('ne', 'a', 'a')).toBe(false);
  });

  it('and, or, not use the truthiness of when', () => {
    expect(call('and', true, 'yes', 1)).toBe(true);
    expect(call('and', true, 'false')).toBe(false);
    expect(call('and')).toBe(false);
    expect(call('or', 0, 'off', 'x')).toBe(true);
    expect(call('or', 0, '')).toBe(false);
    expect(call('not', 'no')).toBe(true);
    expect(call('not', 'x')).toBe(false);
  });

  it('upper and lower', () => {
    expect(call('upper', 'Shop-Db')).toBe('SHOP-DB');
    expect(call('lower', 'Shop-Db')).toBe('shop-db');
    expect(call('upper', 15)).toBe('15');
    expect(call('lower', null)).toBe('');
  });

  it('join: ", " by default, structures as JSON, refuses a non-list', () => {
    expect(call('join', ['a', 'b', 'c'])).toBe('a, b, c');
    expect(call('join', ['a', 'b'], ' ')).toBe('a b');
    expect(call('join', [1, { x: 1 }], ';')).toBe('1;{"x":1}');
    expect(call('join', [])).toBe('');
    expect(() => call('join', 'abc')).toThrow(TemplateError);
  });

  it('duration: seconds as human text', () => {
    expect(call('duration', 90)).toBe('1m30s');
    expect(call('duration', 3600)).toBe('1h');
    expect(call('duration', 5)).toBe('5s');
    expect(call('duration', 3661)).toBe('1h1m1s');
    expect(call('duration', '120')).toBe('2m');
    expect(call('duration', 0)).toBe('0s');
    expect(call('duration', 0.5)).toBe('500ms');
    expect(call('duration', 90.5)).toBe('1m30.5s');
    expect(() => call('duration', 'soon')).toThrow(TemplateError);
    expect(() => call('duration', -1)).toThrow(TemplateError);
    expect(formatDuration(86400)).toBe('24h');
  });
});

describe('isTruthy', () => {
  it.each(['', '  ', 'false', 'FALSE', ' 0 ', 'no', 'Off', 'null', 'undefined', false, 0, NaN, null, undefined, []])(
    '%j is false',
    (value) => {
      expect(isTruthy(value)).toBe(false);
    },
  );

  it.each(['true', 'yes', '1', 'x', 'falsey', true, 1, -1, [0], {}, { a: 1 }])('%j is true', (value) => {
    expect(isTruthy(value)).toBe(true);
  });
});
