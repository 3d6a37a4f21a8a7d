import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ScheduleEntry } from '../books/book.types.js';
import { ErrorCode, QuireError, notFound } from '../common/errors.js';
import { isUuid } from '../common/input.js';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';
import { InventoryService } from '../inventory/inventory.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { JobView } from '../jobs/job.view.js';
import { maySee, visible, type Principal } from '../auth/principal.js';
import { ScheduleStore, type Outcome, type ScheduleRow } from './schedule-store.js';
import { effectiveSpec, nextAfterDue, nextRunAfter, scheduleEntryProblems, shouldFire } from './schedule-times.js';

export interface ScheduleView {
  id: string;
  book: string;
  action: string | null;
  scope: string;
  target: { id: string; name: string | null };
  entry: number;
  spec: ScheduleEntry;
  override: ScheduleEntry | null;
  enabled: boolean;
  next_run_at: string | null;
  last_run_at: string | null;
  last_job_id: string | null;
  last_result: string | null;
  last_error: string | null;
}

export function scheduleView(row: ScheduleRow): ScheduleView {
  return {
    id: row.id,
    book: row.book_name,
    action: row.action,
    scope: row.scope,
    target: { id: row.target_id, name: row.target_name },
    entry: row.entry_index,
    spec: row.spec,
    override: row.override,
    enabled: row.enabled,
    next_run_at: row.next_run_at ? new Date(row.next_run_at).toISOString() : null,
    last_run_at: row.last_run_at ? new Date(row.last_run_at).toISOString() : null,
    last_job_id: row.last_job_id,
    last_result: row.last_result,
    last_error: row.last_error,
  };
}

// Schedules from books plus the operator's choices, and what a firing does. A firing triggers
// the job exactly as the API does, as the engine itself (no token: unscoped), with an
// Idempotency-Key made of the schedule and the slot: every node that finds the slot due may
// try, and the job's unique key lets exactly one job exist for it.
@Injectable()
export class SchedulesService {
  private readonly logger = new Logger('Scheduler');
  readonly store: ScheduleStore;

  constructor(
    dataSource: DataSource,
    private readonly jobs: JobsService,
    private readonly inventory: InventoryService,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
  ) {
    this.store = new ScheduleStore(dataSource);
  }

  /** Brings the rows in step with the books and inventory and plans the slots of new ones. */
  async sync(): Promise<void> {
    await this.store.sync();
    const unplanned = await this.store.unplanned();
    if (!unplanned.length) return;
    const now = await this.store.now();
    for (const row of unplanned) await this.store.plan(row.id, this.nextFrom(row, now));
  }

  async list(filter: { deployment?: string; book?: string }, principal?: Principal): Promise<ScheduleView[]> {
    await this.sync();
    // Another cluster's deployment filters like a missing one: 404, not an empty list.
    const deploymentId = filter.deployment
      ? await this.inventory.getDeployment(filter.deployment).then((d) => visible(principal, 'deployment', filter.deployment!, d, d.cluster_id).id)
      : undefined;
    const rows = await this.store.list({ deploymentId, book: filter.book, clusterIds: principal?.clusterIds ?? null });
    return rows.map(scheduleView);
  }

  async get(id: string, principal?: Principal): Promise<ScheduleRow> {
    const row = isUuid(id) ? await this.store.get(id) : null;
    if (!row || (principal && !maySee(principal, row.cluster_id))) throw notFound('schedule', id);
    return row;
  }

  /** Enables, disables or overrides one schedule; its next slot follows what now fires it. */
  async update(id: string, change: { enabled?: boolean; override?: unknown }, principal?: Principal): Promise<ScheduleView> {
    const row = await this.get(id, principal);
    if (change.override !== undefined && change.override !== null) {
      const problems = scheduleEntryProblems(change.override);
      if (problems.length)
        throw new QuireError(ErrorCode.InvalidInput, `invalid override: ${problems.map((p) => p.message).join('; ')}`, problems);
    }
    const override = change.override === undefined ? row.override : (change.override as ScheduleEntry | null);
    const enabled = change.enabled ?? row.enabled;
    // New times, or a schedule switched back on: plan from now, never from a slot already past
    // (re-enabling must not fire at once as if the slot had been missed).
    const replan = change.override !== undefined || (enabled && !row.enabled);
    const next = replan ? this.nextFrom({ ...row, override }, await this.store.now()) : undefined;
    await this.store.update(row.id, {
      enabled: change.enabled,
      override: change.override as ScheduleEntry | null | undefined,
      next_run_at: next,
    });
    return scheduleView((await this.store.get(row.id))!);
  }

  /** Run now: a job on the schedule's target at once; the next slot stays as it was. */
  async runNow(id: string, principal: Principal, by: string): Promise<{ job: JobView; created: boolean }> {
    const row = await this.get(id, principal);
    const result = await this.jobs.trigger({ ...this.triggerOf(row), triggeredBy: `schedule:${row.id} (run by ${by})`, principal });
    await this.store.recordRun(row.id, { jobId: result.job.id, result: result.created ? 'created' : 'existing', error: null });
    return result;
  }

  /**
   * One due slot on this node. Whatever the trigger answers, the slot is recorded and the
   * schedule moves on; only an infrastructure error (the database unreachable) leaves it due,
   * to be tried again at the next tick by any node.
   */
  async fire(row: ScheduleRow, now: Date): Promise<Outcome> {
    const dueAt = new Date(row.next_run_at!);
    const next = this.nextAfter(row, dueAt, now);
    if (!shouldFire(dueAt, now, this.config.schedules.missed)) {
      const outcome: Outcome = {
        jobId: null,
        result: 'skipped',
        error: `the slot of ${dueAt.toISOString()} was missed while no node ran (QUIRE_SCHEDULE_MISSED=skip)`,
      };
      await this.store.recordSlot(row.id, dueAt, next, outcome);
      return outcome;
    }
    const key = `schedule:${row.id}@${dueAt.toISOString()}`;
    let outcome: Outcome;
    try {
      if (!row.action) throw notFound('book', row.book_name);
      const { job, created } = await this.jobs.trigger({ ...this.triggerOf(row), triggeredBy: `schedule:${row.id}`, idempotencyKey: key });
      // Not created: another node made this slot's job (same key), or `unique` found a live one.
      const mine = created || (await this.store.jobOfKey(key)) === job.id;
      outcome = mine
        ? { jobId: job.id, result: 'created', error: null }
        : { jobId: null, result: 'refused', error: `unique: job ${job.id} of book '${row.book_name}' is still live on this target` };
    } catch (error) {
      if (!(error instanceof QuireError)) throw error;
      outcome = { jobId: null, result: 'refused', error: error.message };
    }
    if (outcome.result === 'refused')
      this.logger.warn(`schedule ${row.id} (${row.book_name} on ${row.target_name ?? row.target_id}) did not run: ${outcome.error}`);
    await this.store.recordSlot(row.id, dueAt, next, outcome);
    return outcome;
  }

  private triggerOf(row: ScheduleRow) {
    if (!row.action) throw notFound('book', row.book_name);
    return { scope: row.scope, target: row.target_id, action: row.action, params: {} };
  }

  private nextFrom(row: Pick<ScheduleRow, 'spec' | 'override'>, now: Date): Date {
    return nextRunAfter(effectiveSpec(row.spec, row.override), now, this.config.schedules.timeZone);
  }

  private nextAfter(row: ScheduleRow, dueAt: Date, now: Date): Date {
    return nextAfterDue(effectiveSpec(row.spec, row.override), dueAt, now, this.config.schedules.timeZone);
  }
}
