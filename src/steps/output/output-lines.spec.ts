import { MAX_OUTPUT_KEYS, OutputLineParser, parseOutputLine } from './output-lines.js';

describe('parseOutputLine', () => {
  it('reads key and value; the value may hold = and spaces', () => {
    expect(parseOutputLine('::output version=1.2.3')).toEqual({ key: 'version', value: '1.2.3' });
    expect(parseOutputLine('::output url=http://x/?a=b c')).toEqual({ key: 'url', value: 'http://x/?a=b c' });
    expect(parseOutputLine('::output empty=')).toEqual({ key: 'empty', value: '' });
    expect(parseOutputLine('::output db.host-name_2=h')).toEqual({ key: 'db.host-name_2', value: 'h' });
  });
  it('refuses bad keys and other lines', () => {
    for (const line of [
      '::output 1x=a',
      '::output =a',
      '::output a b=c',
      '::output noequals',
      'x ::output a=b',
      ' ::output a=b',
      '::outputa=b',
    ]) {
      expect(parseOutputLine(line)).toBeNull();
    }
  });
});

describe('OutputLineParser', () => {
  it('reassembles lines cut at any point across chunks', () => {
    const stream = 'hello\n::output a=1\nnoise ::output b=2\n::output c=x=y\r\n::output last=end';
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new OutputLineParser();
      parser.push(stream.slice(0, cut));
      parser.push(stream.slice(cut));
      parser.flush();
      expect(parser.outputs).toEqual({ a: '1', c: 'x=y', last: 'end' });
    }
  });
  it('lets a later line override a key', () => {
    const parser = new OutputLineParser();
    parser.push('::output a=1\n::output a=2\n');
    expect(parser.outputs).toEqual({ a: '2' });
  });
  it('keeps __proto__ as a plain key', () => {
    const parser = new OutputLineParser();
    parser.push('::output __proto__=x\n');
    expect(Object.keys(parser.outputs)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parser.outputs)).toBe(Object.prototype);
  });
  it('buffers nothing for ordinary long lines, and caps the number of keys', () => {
    const parser = new OutputLineParser();
    parser.push('a'.repeat(1_000_000));
    expect((parser as unknown as { line: string }).line).toBe('');
    parser.push('\n');
    for (let i = 0; i < MAX_OUTPUT_KEYS + 10; i++) parser.push(`::output k${i}=v\n`);
    expect(Object.keys(parser.outputs)).toHaveLength(MAX_OUTPUT_KEYS);
  });
});
