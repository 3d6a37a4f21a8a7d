import { closeOnSignals, SHUTDOWN_MARGIN_SECONDS, type ShutdownHooks } from './shutdown.js';

function fakeProcess() {
  const listeners = new Map<string, () => void>();
  const timers: { fn: () => void; ms: number; unref: boolean }[] = [];
  const exits: number[] = [];
  const warnings: string[] = [];
  const hooks: ShutdownHooks = {
    on: (signal, listener) => void listeners.set(signal, listener),
    exit: (code) => void exits.push(code),
    warn: (message) => void warnings.push(message),
    setTimer: (fn, ms) => {
      const timer = { fn, ms, unref: false };
      timers.push(timer);
      return { unref: () => void (timer.unref = true) };
    },
  };
  return { hooks, listeners, timers, exits, warnings };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('closeOnSignals', () => {
  it('exits 0 once the close ends, with an unref\'d deadline of grace + margin armed on the signal', async () => {
    const fake = fakeProcess();
    let closed = false;
    closeOnSignals({ close: async () => void (closed = true) }, 7, fake.hooks);
    expect(fake.timers).toEqual([]);
    fake.listeners.get('SIGTERM')!();
    await flush();
    expect(closed).toBe(true);
    expect(fake.exits).toEqual([0]);
    expect(fake.timers).toMatchObject([{ ms: (7 + SHUTDOWN_MARGIN_SECONDS) * 1000, unref: true }]);
  });

  it('exits 1 naming the deadline when the close never ends', async () => {
    const fake = fakeProcess();
    closeOnSignals({ close: () => new Promise<void>(() => undefined) }, 2, fake.hooks);
    fake.listeners.get('SIGTERM')!();
    await flush();
    expect(fake.exits).toEqual([]);
    fake.timers[0]!.fn();
    expect(fake.exits).toEqual([1]);
    expect(fake.warnings).toEqual([expect.stringContaining('shutdown deadline passed (7 s after SIGTERM)')]);
  });

  it('exits 1 on a failed close, and at once on a second signal', async () => {
    const failing = fakeProcess();
    closeOnSignals({ close: async () => Promise.reject(new Error('pool gone')) }, 1, failing.hooks);
    failing.listeners.get('SIGINT')!();
    await flush();
    expect(failing.exits).toEqual([1]);
    expect(failing.warnings).toEqual(['shutdown failed: pool gone']);

    const twice = fakeProcess();
    closeOnSignals({ close: () => new Promise<void>(() => undefined) }, 1, twice.hooks);
    twice.listeners.get('SIGINT')!();
    twice.listeners.get('SIGINT')!();
    expect(twice.exits).toEqual([1]);
  });
});
