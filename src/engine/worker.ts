// The claim loop of one node: claims while it has room, runs each job, and wakes on
// notifications, on its poll timer (when notifications are lost), and when a job leaves it.
import { Logger } from '@nestjs/common';
import type { JobStore } from './job-store.js';
import type { JobRunner } from './job-runner.js';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import type { EngineConfig } from '../config/config.js';

/** after a retry's delay, so that the claim's `run_at <= now()` holds when it looks */
const RETRY_WAKE_MARGIN_MS = 50;

/**
 * How often a worker that recorded lessons folds them into the histories (JobStore.foldLessons).
 * Readers merge what is not folded yet, so this only bounds how many they merge.
 */
const FOLD_EVERY_MS = 1000;

export class Worker {
  private readonly logger = new Logger('Worker');
  private readonly running = new Set<Promise<void>>();
  private readonly drain = new AbortController();
  private readonly shutdown = new AbortController();
  private stopping = false;
  private claiming = false;
  private claimAgain = false;
  /** when the claim loop last finished a round without error (claimed, found nothing, or was full) */
  private lastRoundAt: Date | null = null;
  private startedAt = new Date();
  private timers: NodeJS.Timeout[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private unsubscribe: Array<() => void> = [];

  constructor(
    private readonly store: JobStore,
    private readonly runner: JobRunner,
    private readonly pubsub: PubSub,
    private readonly config: EngineConfig & { workerId: string; channels: Record<string, number> },
  ) {}

  start(): void {
    this.startedAt = new Date();
    // A retry is due after its delay: waiting for the next poll after that added up to a poll
    // interval (1 s by default) to every retried step, and made the learned cost of a retry
    // (BOOKS.md section 7) vary by as much. Polling still backs this up, on every node.
    this.runner.onRetryScheduled = (delaySeconds) => {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.wake();
      }, delaySeconds * 1000 + RETRY_WAKE_MARGIN_MS);
      this.retryTimers.add(timer);
    };
    this.unsubscribe = [
      this.pubsub.subscribe(CHANNELS.jobs, () => this.wake()),
      // The heartbeat finds cancel requests too; the notification only makes it sooner.
      this.pubsub.subscribe(CHANNELS.cancel, (jobId) => this.runner.checkNow(jobId)),
    ];
    this.timers.push(setInterval(() => this.wake(), this.config.pollMs));
    // Every node sweeps expired leases; the sweep skips rows another node is sweeping.
    this.timers.push(setInterval(() => void this.rescue(), Math.max(1000, (this.config.leaseSeconds * 1000) / 3)));
    this.timers.push(setInterval(() => void this.foldLessons(), FOLD_EVERY_MS));
    this.wake();
    this.logger.log(`worker ${this.config.workerId} started (concurrency ${this.config.concurrency})`);
  }

  get busy(): number {
    return this.running.size;
  }

  /** What /health reports of this node's worker. A loop whose rounds keep failing (database gone) is not ok. */
  status(): { id: string; running: number; concurrency: number; stopping: boolean; last_round_at: string | null; ok: boolean } {
    const staleMs = Math.max(10_000, this.config.pollMs * 5);
    return {
      id: this.config.workerId,
      running: this.running.size,
      concurrency: this.config.concurrency,
      stopping: this.stopping,
      last_round_at: this.lastRoundAt?.toISOString() ?? null,
      ok: !this.stopping && Date.now() - (this.lastRoundAt ?? this.startedAt).getTime() < staleMs,
    };
  }

  wake(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimWhileRoom()
      .then(() => (this.lastRoundAt = new Date()))
      .catch((error: Error) => this.logger.warn(`claim failed: ${error.message}`))
      .finally(() => {
        this.claiming = false;
        if (this.claimAgain) {
          this.claimAgain = false;
          this.wake();
        }
      });
  }

  private async claimWhileRoom(): Promise<void> {
    let filled = false;
    while (!this.stopping && this.running.size < this.config.concurrency) {
      const room = this.config.concurrency - this.running.size;
      const jobs = await this.store.claim(
        {
          workerId: this.config.workerId,
          leaseSeconds: this.config.leaseSeconds,
          channels: this.config.channels,
          defaultCapacity: this.config.channels.default ?? 8,
        },
        room,
      );
      for (const job of jobs) {
        const run = this.runner.run(job, { drain: this.drain.signal, shutdown: this.shutdown.signal }).finally(() => {
          this.running.delete(run);
          // The job's end may free a lock or a channel slot: for this node and the others. With
          // a transactional pubsub the write that ended or parked the job notified in its commit.
          if (!this.pubsub.transactional) void this.pubsub.publish(CHANNELS.jobs).catch(() => undefined);
          this.wake();
        });
        this.running.add(run);
      }
      if (jobs.length < room) return;
      filled = true;
    }
    // Full, and the last claim took all the room it had: more may be eligible, for workers with
    // room. Job ends do not wake other workers (JobStore.owned): this worker claims after each
    // of its own, and passes the word on only when it cannot take all.
    if (filled && !this.stopping) void this.pubsub.publish(CHANNELS.jobs).catch(() => undefined);
  }

  private async rescue(): Promise<void> {
    try {
      const rescued = await this.store.rescueExpired();
      if (rescued.length) this.logger.warn(`rescued ${rescued.length} job(s) whose worker stopped: ${rescued.join(', ')}`);
      const expired = await this.store.expireWaiting();
      if (expired.length) this.logger.warn(`manual step timed out in ${expired.length} job(s): ${expired.join(', ')}`);
      const chained = await this.runner.triggerOwedChains();
      if (chained) this.logger.warn(`triggered the owed on_success/on_failure links of ${chained} job(s) whose worker stopped`);
      if (rescued.length || expired.length) {
        // Other nodes may have room for them before this one does.
        void this.pubsub.publish(CHANNELS.jobs).catch(() => undefined);
        this.wake();
      }
    } catch (error) {
      this.logger.warn(`rescue failed: ${(error as Error).message}`);
    }
  }

  private async foldLessons(): Promise<void> {
    try {
      await this.store.foldLessonsIfTaught();
    } catch (error) {
      this.logger.warn(`folding lessons failed: ${(error as Error).message}`);
    }
  }

  /** Stops claiming, lets running steps finish within the grace period, then hands the rest back. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.drain.abort();
    this.timers.forEach(clearInterval);
    this.retryTimers.forEach(clearTimeout);
    this.unsubscribe.forEach((off) => off());
    const all = () => Promise.allSettled([...this.running]);
    const graceMs = this.config.shutdownGraceSeconds * 1000;
    let graceTimer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([all().then(() => true), new Promise<boolean>((r) => (graceTimer = setTimeout(() => r(false), graceMs)))]);
    clearTimeout(graceTimer);
    if (!finished) {
      this.logger.warn(`grace period over: handing ${this.running.size} job(s) back`);
      this.shutdown.abort();
      await all();
    }
  }
}
