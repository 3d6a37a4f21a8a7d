import { DeliveryError, afterFailure, retryDelaySeconds, webhookStatus } from './delivery-retry.js';

describe('notification delivery retries', () => {
  it('tries again within 10 s first, then doubles up to an hour', () => {
    expect(retryDelaySeconds(1, () => 0)).toBe(5);
    expect(retryDelaySeconds(1, () => 0.999)).toBeGreaterThan(4);
    expect(retryDelaySeconds(2, () => 0)).toBe(10);
    expect(retryDelaySeconds(3, () => 0)).toBe(20);
    expect(retryDelaySeconds(20, () => 0)).toBe(3600);
  });

  it('retries network errors, 408, 429 and 5xx; gives up on other 4xx', () => {
    expect([200, 204, 408, 429, 500, 503, 400, 401, 404, 301].map(webhookStatus)).toEqual([
      'sent',
      'sent',
      'retry',
      'retry',
      'retry',
      'retry',
      'failed',
      'failed',
      'failed',
      'failed',
    ]);
  });

  it('gives up after 24 hours, or at once on a final error', () => {
    expect(afterFailure(new DeliveryError('503', true), 60, 1).state).toBe('pending');
    expect(afterFailure(new DeliveryError('503', true), 24 * 3600 - 1, 12).state).toBe('failed');
    expect(afterFailure(new DeliveryError('404', false), 0, 1).state).toBe('failed');
  });
});
