import { inScope, maySee, requireUnscoped, roleAllows, visible, type Principal } from './principal.js';
import { QuireError } from '../common/errors.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const as = (clusterIds: string[] | null): Principal => ({ tokenId: 't', name: 'n', role: 'admin', clusterIds });

describe('the cluster-scope check', () => {
  it('lets an unscoped caller see everything, records without a cluster included', () => {
    expect([inScope(null, A), inScope(null, null), inScope(null, undefined)]).toEqual([true, true, true]);
  });

  it('limits a scoped caller to its clusters, and never shows it records without one', () => {
    expect([inScope([A], A), inScope([A], B), inScope([A], null), inScope([], A)]).toEqual([true, false, false, false]);
    expect(maySee(as([A]), B)).toBe(false);
  });

  it('reports a record out of scope exactly as a missing one', () => {
    expect(visible(as([A]), 'deployment', 'web', 'record', A)).toBe('record');
    expect(() => visible(as([A]), 'deployment', 'web', 'record', B)).toThrow("deployment 'web' not found");
    expect(visible(undefined, 'deployment', 'web', 'record', B)).toBe('record');
  });

  it('keeps calls over every cluster for unscoped tokens', () => {
    expect(() => requireUnscoped(as(null), 'x')).not.toThrow();
    expect(() => requireUnscoped(as([A]), 'reloading changes every cluster')).toThrow(QuireError);
  });

  it('ranks roles viewer < operator < admin', () => {
    expect([roleAllows('viewer', 'operator'), roleAllows('operator', 'operator'), roleAllows('admin', 'viewer')]).toEqual([
      false,
      true,
      true,
    ]);
  });
});
