import { MAX_OUTPUT_KEYS, OutputLineParser, parseOutputLine } from './output-lines.js';

const T = 'a1b2c3';
/** `::output x=1` with this attempt's token, as a step prints it */
const m = (rest: string) => `::output::${T} ${rest}`;

describe('parseOutputLine', () => {
  it('reads key and value; the value may hold = and spaces', () => {
    expect(parseOutputLine(m('version=1.2.3'), T)).toEqual({ key: 'version', value: '1.2.3' });
    expect(parseOutputLine(m('url=http://x/?a=b c'), T)).toEqual({ key: 'url', value: 'http://x/?a=b c' });
    expect(parseOutputLine(m('empty='), T)).toEqual({ key: 'empty', value: '' });
    expect(parseOutputLine(m('db.host-name_2=h'), T)).toEqual({ key: 'db.host-name_2', value: 'h' });
  });
  it('refuses bad keys and other lines', () => {
    for (const line of [
      m('1x=a'),
      m('=a'),
      m('a b=c'),
      m('noequals'),
      `x ${m('a=b')}`,
      ` ${m('a=b')}`,
      `::output::${T}a=b`,
      // the untokenised form, or another attempt's token: what data echoed by a step looks like
      '::output a=b',
      '::output::a1b2c4 a=b',
      '::output:: a=b',
    ]) {
      expect(parseOutputLine(line, T)).toBeNull();
    }
  });
});

describe('OutputLineParser', () => {
  it('reassembles lines cut at any point across chunks', () => {
    const stream = `hello\n${m('a=1')}\nnoise ${m('b=2')}\n::output forged=1\n${m('c=x=y')}\r\n${m('last=end')}`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new OutputLineParser(T);
      parser.push(stream.slice(0, cut));
      parser.push(stream.slice(cut));
      parser.flush();
      expect(parser.outputs).toEqual({ a: '1', c: 'x=y', last: 'end' });
    }
  });
  it('lets a later line override a key', () => {
    const parser = new OutputLineParser(T);
    parser.push(`${m('a=1')}\n${m('a=2')}\n`);
    expect(parser.outputs).toEqual({ a: '2' });
  });
  it('keeps __proto__ as a plain key', () => {
    const parser = new OutputLineParser(T);
    parser.push(`${m('__proto__=x')}\n`);
    expect(Object.keys(parser.outputs)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parser.outputs)).toBe(Object.prototype);
  });
  it('buffers nothing for ordinary long lines, and caps the number of keys', () => {
    const parser = new OutputLineParser(T);
    parser.push('a'.repeat(1_000_000));
    expect((parser as unknown as { line: string }).line).toBe('');
    parser.push('\n');
    for (let i = 0; i < MAX_OUTPUT_KEYS + 10; i++) parser.push(`${m(`k${i}=v`)}\n`);
    expect(Object.keys(parser.outputs)).toHaveLength(MAX_OUTPUT_KEYS);
  });
});
