// Retention, after River's cleaner: finished jobs older than QUIRE_JOB_RETENTION_DAYS (those
// that ended `error` after QUIRE_JOB_ERROR_RETENTION_DAYS) go with their steps, events and
// notification deliveries; then the book versions no job uses any more, and old schedule
// firings. Small batches, each its own short transaction, rows taken with SKIP LOCKED: the sweep
// only ever touches finished rows, never waits for a claimer, a resume or another node's sweep,
// and never holds a lock long enough for the queue to notice.
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';

const FIRST_MS = 5_000;
const EVERY_MS = 3600_000;
export const CLEAN_BATCH = 500;

export interface CleanResult {
  jobs: number;
  events: number;
  book_versions: number;
  schedule_firings: number;
}

// A job stays while anything still needs it: chain links or notifications it owes, or a child
// that is still live (a `trigger` step's parent is read by its child's wait).
const DOOMED_JOBS = `
SELECT id FROM jobs j
WHERE j.date_done IS NOT NULL AND j.state IN ('done', 'cancel', 'error')
  AND j.date_done < now() - make_interval(days => CASE WHEN j.state = 'error' THEN $2::int ELSE $1::int END)
  AND NOT j.chain_pending
  AND NOT EXISTS (SELECT 1 FROM notification_deliveries n WHERE n.job_id = j.id AND n.state = 'pending')
  AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.parent_job_id = j.id AND c.state IN ('draft', 'scheduled', 'running'))
ORDER BY j.date_done
LIMIT $3
FOR UPDATE SKIP LOCKED`;

@Injectable()
export class JobCleaner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Cleaner');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Every node sweeps (SKIP LOCKED shares the work): soon after start, so a node restarted
    // more often than hourly still cleans, then hourly.
    const run = () => {
      if (!this.running) this.running = this.clean().finally(() => (this.running = null));
    };
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, EVERY_MS);
      this.timer.unref();
    }, FIRST_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async clean(batch = CLEAN_BATCH): Promise<CleanResult> {
    const result: CleanResult = { jobs: 0, events: 0, book_versions: 0, schedule_firings: 0 };
    try {
      for (;;) {
        const { jobs, events } = await this.pruneJobs(batch);
        result.jobs += jobs;
        result.events += events;
        if (jobs < batch) break;
      }
      for (;;) {
        const versions = await this.pruneBookVersions(batch);
        result.book_versions += versions;
        if (versions < batch) break;
      }
      for (;;) {
        const firings = await this.pruneFirings(batch);
        result.schedule_firings += firings;
        if (firings < batch) break;
      }
    } catch (error) {
      this.logger.warn(`retention sweep failed: ${(error as Error).message}`);
    }
    if (result.jobs || result.book_versions) {
      this.logger.log(`retention: pruned ${result.jobs} job(s) with ${result.events} event(s), ${result.book_versions} unused book version(s)`);
    }
    return result;
  }

  /** One batch of finished jobs, with their events; steps and deliveries go by ON DELETE CASCADE. */
  async pruneJobs(batch = CLEAN_BATCH): Promise<{ jobs: number; events: number }> {
    const { jobDays, errorJobDays } = this.config.retention;
    return this.dataSource.transaction(async (manager) => {
      const rows = (await manager.query(DOOMED_JOBS, [jobDays, errorJobDays, batch])) as { id: string }[];
      if (rows.length === 0) return { jobs: 0, events: 0 };
      const ids = rows.map((r) => r.id);
      const events = (await manager.query(`DELETE FROM deploy_events WHERE job_id = ANY($1::uuid[])`, [ids])) as [unknown, number];
      await manager.query(`DELETE FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
      return { jobs: ids.length, events: Number(events[1] ?? 0) };
    });
  }

  /**
   * Versions that are no longer current and that no job references. A trigger inserting a job
   * on a version holds a key-share lock on it until it commits, so SKIP LOCKED passes over a
   * version a job is being created on at this moment.
   */
  async pruneBookVersions(batch = CLEAN_BATCH): Promise<number> {
    const result = (await this.dataSource.query(
      `DELETE FROM book_versions WHERE id IN (
         SELECT b.id FROM book_versions b
         WHERE NOT b.is_current AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.book_version_id = b.id)
         LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [batch],
    )) as [unknown, number];
    return Number(result[1] ?? 0);
  }

  /** A schedule's record of the slots it fired, kept as long as the jobs kept longest. */
  async pruneFirings(batch = CLEAN_BATCH): Promise<number> {
    const result = (await this.dataSource.query(
      `DELETE FROM schedule_firings WHERE (schedule_id, fire_at) IN (
         SELECT schedule_id, fire_at FROM schedule_firings WHERE date_created < now() - make_interval(days => $1)
         LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [Math.max(this.config.retention.jobDays, this.config.retention.errorJobDays), batch],
    )) as [unknown, number];
    return Number(result[1] ?? 0);
  }
}
