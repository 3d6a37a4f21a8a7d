import type { Book, BookStep } from './book.types.js';
import { resolveStepPolicy, stepWithDefaults } from './step-policy.js';

const shell = (extra: Partial<BookStep> = {}): BookStep => ({ name: 's', kind: 'shell', run: 'true', ...extra });

describe('resolveStepPolicy', () => {
  it('falls back to the built-in defaults', () => {
    expect(resolveStepPolicy({}, shell())).toEqual({
      estimated_duration_s: 30,
      multiplier: 10,
      timeout_s: 300,
      retry: { max_attempts: 1, delay_s: 2, max_delay_s: 300, backoff: 'exponential', retry_on_exit_codes: [], retry_on_timeout: false },
      on_failure: 'fail',
    });
  });

  it("takes the book's defaults, then the step's own keys", () => {
    const book: Pick<Book, 'defaults'> = {
      defaults: {
        estimated_duration: 30,
        estimated_duration_over_stop: 10,
        retry: { max_attempts: 3, delay: '2s', max_delay: '1m' },
        on_failure: 'continue',
      },
    };
    const policy = resolveStepPolicy(book, shell({ estimated_duration: 60, retry: { max_attempts: 5, retry_on_exit_codes: [75] } }));
    expect(policy.estimated_duration_s).toBe(60);
    expect(policy.timeout_s).toBe(600);
    expect(policy.retry).toEqual({
      max_attempts: 5,
      delay_s: 2,
      max_delay_s: 60,
      backoff: 'exponential',
      retry_on_exit_codes: [75],
      retry_on_timeout: false,
    });
    expect(policy.on_failure).toBe('continue');
  });

  it('parses duration strings and applies the multiplier', () => {
    const policy = resolveStepPolicy(
      { defaults: { estimated_duration_over_stop: 3 } },
      shell({ estimated_duration: '1m30s', retry: { delay: '500ms', backoff: 'fixed' } }),
    );
    expect(policy).toMatchObject({ estimated_duration_s: 90, multiplier: 3, timeout_s: 270 });
    expect(policy.retry).toMatchObject({ delay_s: 0.5, backoff: 'fixed' });
  });
});

describe('stepWithDefaults', () => {
  const book: Pick<Book, 'defaults'> = {
    defaults: {
      when: '{{params.go}}',
      retry: { max_attempts: 3, delay: '2s' },
      env: { A: '1', B: '2' },
      interval: '5s',
      secrets: ['TOKEN'],
    },
  };

  it('merges retry and env key by key, the step winning', () => {
    const merged = stepWithDefaults(book, shell({ retry: { delay: '9s' }, env: { B: 'b', C: 'c' } }));
    expect(merged.retry).toEqual({ max_attempts: 3, delay: '9s' });
    expect(merged.env).toEqual({ A: '1', B: 'b', C: 'c' });
    expect(merged.when).toBe('{{params.go}}');
    expect(merged.secrets).toEqual(['TOKEN']);
    expect(merged.interval).toBeUndefined();
  });

  it('gives env only to shell steps and interval only to wait steps', () => {
    const wait = stepWithDefaults(book, { name: 'w', kind: 'wait', duration: 1 });
    expect(wait.env).toBeUndefined();
    expect(wait.interval).toBe('5s');
  });

  it('does not change its inputs', () => {
    const step = shell({ retry: { delay: '9s' } });
    stepWithDefaults(book, step);
    expect(step).toEqual(shell({ retry: { delay: '9s' } }));
    expect(book.defaults?.retry).toEqual({ max_attempts: 3, delay: '2s' });
  });
});
