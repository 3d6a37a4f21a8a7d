// How `quire serve` and `quire worker` end on SIGTERM/SIGINT: a graceful close (running steps
// get their grace period, connections are closed), bounded by a hard deadline so that nothing
// left open (a client, a stuck close hook) can keep the process alive: an orchestrator that
// sends SIGTERM expects the process gone, and a hung one holds its port and its leases' jobs.

/** Past the grace period, closing the database, the pub/sub and the HTTP server gets this long. */
export const SHUTDOWN_MARGIN_SECONDS = 5;

export interface ShutdownHooks {
  /** process.once for the signals */
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): void;
  exit(code: number): void;
  warn(message: string): void;
  setTimer(fn: () => void, ms: number): { unref(): void };
}

const processHooks: ShutdownHooks = {
  on: (signal, listener) => process.on(signal, listener),
  exit: (code) => process.exit(code),
  warn: (message) => console.error(message),
  setTimer: (fn, ms) => setTimeout(fn, ms),
};

/**
 * Closes `service` on the first SIGTERM or SIGINT, then exits 0; exits 1 if the close fails,
 * takes longer than the grace period plus SHUTDOWN_MARGIN_SECONDS, or a second signal comes.
 */
export function closeOnSignals(service: { close(): Promise<void> }, graceSeconds: number, hooks: ShutdownHooks = processHooks): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      hooks.warn(`${signal} again: exiting without waiting for the shutdown to finish`);
      return hooks.exit(1);
    }
    stopping = true;
    const deadlineSeconds = graceSeconds + SHUTDOWN_MARGIN_SECONDS;
    // unref: a close that ends sooner lets the process exit without waiting for this timer.
    hooks
      .setTimer(() => {
        hooks.warn(`shutdown deadline passed (${deadlineSeconds} s after ${signal}): exiting with work still closing`);
        hooks.exit(1);
      }, deadlineSeconds * 1000)
      .unref();
    service.close().then(
      () => hooks.exit(0),
      (error: unknown) => {
        hooks.warn(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        hooks.exit(1);
      },
    );
  };
  hooks.on('SIGTERM', () => stop('SIGTERM'));
  hooks.on('SIGINT', () => stop('SIGINT'));
}
