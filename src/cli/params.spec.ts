import { parseParamArgs } from './params.js';

describe('parseParamArgs', () => {
  const schema = { properties: { version: { type: 'string' }, replicas: { type: 'integer' }, dry: { type: 'boolean' } } };
  it('types values by the declared schema', () => {
    expect(parseParamArgs(['version=15', 'replicas=2', 'dry=true'], schema)).toEqual({ version: '15', replicas: 2, dry: true });
  });
  it('keeps undeclared values as JSON when they parse, else text', () => {
    expect(parseParamArgs(['n=3', 'name=shop db', 'list=[1,2]'])).toEqual({ n: 3, name: 'shop db', list: [1, 2] });
  });
  it('keeps a value with = signs whole', () => {
    expect(parseParamArgs(['q=a=b'])).toEqual({ q: 'a=b' });
  });
  it('refuses a pair without a key', () => {
    expect(() => parseParamArgs(['=x'])).toThrow('--param expects key=value');
  });
  it('leaves a wrongly typed value for the server to refuse', () => {
    expect(parseParamArgs(['replicas=many'], schema)).toEqual({ replicas: 'many' });
  });
});
