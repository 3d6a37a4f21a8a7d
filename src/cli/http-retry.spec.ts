import { fetchRetryingWhenSafe, isRetrySafe } from './http-retry.js';

/** A fetch whose first `failures` calls fail as a socket the server closed does. */
function flakyFetch(failures: number) {
  const calls: string[] = [];
  const fetchFn = (async (_url: string, init: { method: string }) => {
    calls.push(init.method);
    if (calls.length <= failures) throw new TypeError('fetch failed', { cause: new Error('other side closed') });
    return new Response('{}', { status: 202 });
  }) as unknown as typeof fetch;
  return { calls, fetchFn };
}

describe('retrying a request only when it is safe', () => {
  it('says which requests a repeat cannot do twice', () => {
    expect(isRetrySafe('GET', {})).toBe(true);
    expect(isRetrySafe('POST', {})).toBe(false);
    expect(isRetrySafe('POST', { 'Idempotency-Key': 'k1' })).toBe(true);
    expect(isRetrySafe('DELETE', { 'idempotency-key': '' })).toBe(false);
  });

  it('sends a GET and a keyed POST again after a dropped connection', async () => {
    const inits: { method: string; headers: Record<string, string>; body?: string }[] = [
      { method: 'GET', headers: {} },
      { method: 'POST', headers: { 'idempotency-key': 'k' }, body: '{}' },
    ];
    for (const init of inits) {
      const { calls, fetchFn } = flakyFetch(2);
      const response = await fetchRetryingWhenSafe('http://x', init, { delays: [0, 0], fetchFn });
      expect(response.status).toBe(202);
      expect(calls).toHaveLength(3);
    }
  });

  it('sends a POST without a key once, and gives up after the last delay', async () => {
    const once = flakyFetch(1);
    await expect(fetchRetryingWhenSafe('http://x', { method: 'POST', headers: {}, body: '{}' }, { delays: [0], fetchFn: once.fetchFn })).rejects.toThrow('fetch failed');
    expect(once.calls).toEqual(['POST']);
    const always = flakyFetch(10);
    await expect(fetchRetryingWhenSafe('http://x', { method: 'GET', headers: {} }, { delays: [0, 0], fetchFn: always.fetchFn })).rejects.toThrow('fetch failed');
    expect(always.calls).toHaveLength(3);
  });
});
