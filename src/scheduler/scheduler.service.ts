import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulesService } from './schedules.service.js';

export const SCHEDULER_ENABLED = Symbol('SCHEDULER_ENABLED');

/** How often every node looks for due slots: a firing starts at most this late. */
const TICK_MS = 1000;
/** How often a node brings the rows in step with books and inventory on its own (the API does it on every list). */
const SYNC_EVERY_TICKS = 5;
/** Due slots one tick fires; the rest wait for the next tick. */
const BATCH = 50;

// Every `quire serve` node ticks; none leads. A slot is made exactly once by the job's unique
// Idempotency-Key (see SchedulesService.fire), so any number of nodes may find it due at once.
// A self-rearming timer, not a fixed interval, so a slow tick never overlaps the next.
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Scheduler');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private ticks = 0;
  private stopped = false;

  constructor(
    @Inject(SCHEDULER_ENABLED) private readonly enabled: boolean,
    private readonly schedules: SchedulesService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.arm(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: Error) => this.logger.warn(`tick failed: ${error.message}`))
        .finally(() => {
          this.running = null;
          this.arm(TICK_MS);
        });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticks++ % SYNC_EVERY_TICKS === 0) await this.schedules.sync();
    const { rows, now } = await this.schedules.store.due(BATCH);
    for (const row of rows) {
      if (this.stopped) return;
      await this.schedules.fire(row, now);
    }
  }
}
