// Every write a worker makes to a job or its steps. Each runs in a transaction that first
// locks the job row *with the worker's lease token*: a worker that lost its lease (paused,
// partitioned, rescued) finds no row and writes nothing (STYLE.md habit 3). Each records its
// deploy_event in the same transaction, so no state change goes unreported.
import { DataSource, type EntityManager } from 'typeorm';
import { EventsService, eventColumns, eventRow, notifiedCte } from '../events/events.service.js';
import type { DeployEvent, DeployEventInput, Progress } from '../events/event.types.js';
import { jobStatesLeadingTo, stepStatesLeadingTo, type JobState, type StepState } from '../jobs/job-state.js';
import { JobEntity, type ChainError } from '../jobs/job.entity.js';
import { JobStepEntity, type StepAttemptError } from '../jobs/job-step.entity.js';
import { PROGRESS_COLUMNS, progressOf } from '../jobs/job.view.js';
import { HISTORY_WINDOW, finalOutcome, type Outcome } from '../jobs/estimates.js';
import { notifiesOn, oweNotifications } from '../notifications/notification-store.js';
import type { Outcome as NotifyOutcome } from '../notifications/notification-content.js';
import { metrics } from '../observability/metrics.js';
import { columnsOf, prepareOnce, prepared } from '../db/prepared.js';
import { WriteBatcher, type ConnectionPool } from '../db/write-batcher.js';
import { oneTrip, type Statement } from '../db/one-trip.js';

export class LeaseLostError extends Error {
  constructor(readonly jobId: string) {
    super(`lease on job ${jobId} was lost`);
    this.name = 'LeaseLostError';
  }
}

export interface Lease {
  jobId: string;
  token: string;
}

export interface ClaimOptions {
  workerId: string;
  leaseSeconds: number;
  channels: Record<string, number>;
  defaultCapacity: number;
}

// Claims are serialised across nodes by this transaction-level advisory lock, so the capacity
// and lock checks below cannot be raced by another claimer (two claimers each counting a
// channel's last free slot would both fill it). Held for the claim statement only, about a
// millisecond since issue 9, so it no longer caps the workers together. The claim's times are taken with
// clock_timestamp(), after the lock: now() is when the transaction began, before waiting for it,
// and under four busy workers that was up to ~50 ms before the previous job of the deployment
// ended (its date_done), so the recorded runs of one deployment appeared to overlap.
const CLAIM_LOCK = 7_140_023;

/**
 * Write batches sent at once (WriteBatcher): a second lets writes go while a first waits on a
 * lock or a slow commit; 1, 2 and 3 drained alike in bench/peers.mjs (issue 9).
 */
const WRITE_BATCHES_IN_FLIGHT = 2;

/** Held by the one statement folding lessons into histories (foldLessons). */
const FOLD_LOCK = 7_140_024;

/**
 * How long a store transaction may sit idle before PostgreSQL ends it. A worker paused
 * (SIGSTOP, a frozen VM) or cut off inside one keeps its locks: inside claim() the claim lock,
 * and every node's claims waited for it (> 8 s, in fact until it resumed, in 6 of 60 pauses of
 * a polling worker). PostgreSQL ends such a session instead; the stalled worker's write fails
 * and its job is rescued as usual. Set with the transaction's BEGIN (see `transaction`).
 */
const STALLED_TRANSACTION_MS = 5000;

// One statement: the oldest-first eligible jobs (up to the claimer's free slots) whose channels
// have room and whose locks are free. A job waits for older unfinished jobs sharing a lock
// (creation order per lock), with two exceptions, each of which would otherwise deadlock or stall:
// - a child whose parent holds the lock and waits for it (a `trigger` step with `wait: true`)
//   goes before every job queued behind that parent, and the parent leaves its channel slot
//   free while it waits;
// - a job delayed into the future that never started (a chained trigger's `delay`) takes its
//   place in the queue only when its time comes; a job waiting for a retry keeps its place,
//   so no other job slips in between two attempts of a deploy.
//
// Per candidate, in queue order, stopping at the claimer's room (issue 9). A candidate is
// blocked when, on one of its locks, another live job holds it (running) or is ahead of it
// (scheduled, older, its time come or already started); its waiting parent is no obstacle, and
// a running parent makes the older queued jobs on that lock none either. The GIN index
// on the live jobs' locks answers each test from the few jobs of that lock, and the partial
// queue index hands out candidates in order, so a claim reads the heads of the queue and the
// jobs sharing their locks rather than the whole backlog. The earlier set-based form ranked
// every queued job per lock on every claim: 13-35 ms with 1,000 queued (EXPLAIN ANALYZE, bench/
// profile-job.mjs), under the claim lock, capping all workers together near 70 jobs/s.
// A channel already full is passed over before the LIMIT (its jobs would take the room of
// other channels' jobs); among the candidates, slots are handed out in queue order per channel.
// Every unblocked candidate is the head of each queue it is in, so no two share a lock.
// The locks of a live (queued or running) job, none for any other: the expression its GIN index
// (migration 1765800000000) is built on. An expression rather than a partial index, so that no
// condition on `state` lets the planner walk idx_jobs_claim instead (with a fresh table's
// statistics it did: every older live job read per candidate, 250 ms a claim with 1,000 queued).
const LIVE_LOCKS = (alias: string) => `(CASE WHEN ${alias}.state IN ('scheduled', 'running') THEN ${alias}.locks ELSE '{}'::text[] END)`;

/** Where the claim leaves the ids it claimed, for the rest of its transaction. */
const CLAIMED_SETTING = 'quire.claimed';

/** The claim, returning `returning` of each claimed job (listed, for a prepared statement). */
const claimSql = (returning: string) => `
-- MATERIALIZED: counted once per claim; inlined, it was counted again for every candidate.
WITH busy AS MATERIALIZED (
  SELECT r.channel, count(*) AS running FROM jobs r
  WHERE r.state = 'running' AND r.lease_token IS NOT NULL
    -- A scalar subquery, not NOT EXISTS: PostgreSQL made that an anti-join that read every
    -- live job, the whole backlog, on every claim. This probes idx_jobs_parent per running job.
    AND NOT (SELECT EXISTS (SELECT 1 FROM jobs c WHERE c.parent_job_id = r.id AND c.state IN ('scheduled', 'running')))
  GROUP BY r.channel
),
-- The subquery fences the queue order from the lock test: the test runs on the candidates in
-- order, only until LIMIT of them passed, whatever plan the statistics suggest for the rest.
-- No ORDER BY outside it (the filter keeps its order): with one, PostgreSQL planned the subquery
-- for full retrieval, a scan and sort of every queued job, instead of walking idx_jobs_queue.
head AS (
  SELECT q.id, q.channel, q.priority, q.date_created, q.running, q.capacity FROM (
    SELECT j.id, j.channel, j.priority, j.date_created, j.locks, j.parent_job_id, COALESCE(b.running, 0) AS running,
      COALESCE(($2::jsonb ->> j.channel)::int, $3::int) AS capacity
    FROM jobs j
    LEFT JOIN busy b ON b.channel = j.channel
    WHERE j.state = 'scheduled' AND j.run_at <= now()
    ORDER BY j.priority, j.date_created, j.id
    OFFSET 0
  ) q
  WHERE q.running < q.capacity
    AND NOT EXISTS (
      SELECT 1 FROM unnest(q.locks) AS lk
      LEFT JOIN jobs p ON p.id = q.parent_job_id AND lk = ANY (p.locks) AND p.state IN ('scheduled', 'running')
      WHERE EXISTS (
        SELECT 1 FROM jobs o
        WHERE ${LIVE_LOCKS('o')} @> ARRAY[lk] AND o.id <> q.id AND o.id IS DISTINCT FROM p.id
          AND (o.state = 'running'
            OR (p.state IS DISTINCT FROM 'running' AND (o.run_at <= now() OR o.date_running IS NOT NULL)
              AND (o.date_created, o.id) < (q.date_created, q.id)))
      )
    )
  LIMIT $5
),
-- The ids as one array, looked up by primary key: with "j.id IN (...)" PostgreSQL walked every
-- queued job and tested each against the handful chosen. The state test is written so that no
-- index can serve it, for the same reason: before a table's first ANALYZE, the planner took
-- idx_jobs_state_created for it, and read the whole queue.
candidate AS (
  SELECT j.id FROM jobs j
  WHERE (j.state || '') = 'scheduled' AND j.id = ANY (ARRAY(
    SELECT id FROM (
      SELECT id, running + row_number() OVER (PARTITION BY channel ORDER BY priority, date_created, id) AS slot, capacity FROM head
    ) s WHERE slot <= capacity))
  FOR UPDATE OF j SKIP LOCKED
),
claimed AS (
  UPDATE jobs SET state = 'running', lease_token = gen_random_uuid(), lease_expires_at = clock_timestamp() + make_interval(secs => $4),
    locked_by = $1, date_running = COALESCE(date_running, clock_timestamp())
  FROM candidate WHERE jobs.id = candidate.id
  RETURNING ${returning}, EXTRACT(EPOCH FROM clock_timestamp() - jobs.run_at)::float8 AS claim_wait_s
),
-- The claimed ids, kept until this transaction ends for the read of their steps (quire_claim_steps).
kept AS MATERIALIZED (SELECT set_config('${CLAIMED_SETTING}', COALESCE(string_agg(id::text, ','), ''), true) FROM claimed)
SELECT claimed.* FROM claimed, kept`;

/** The claim as bench/profile-job.mjs explains it. */
export const CLAIM_SQL = claimSql('jobs.*');

export class JobStore {
  /** The lessons of an owned transaction, by its manager: recorded with its commit (`now`) or kept for the next write (see learn). */
  private readonly lessons = new WeakMap<EntityManager, { now: LessonRow[]; keep: LessonRow[] }>();
  /** Lessons kept for a job's next write, by job id. */
  private readonly keptLessons = new Map<string, LessonRow[]>();
  /** Step ends `stepDone` kept for the job's next write, by job id. */
  private readonly pendingEnds = new Map<string, { job: JobEntity; step: JobStepEntity; outcome: StepOutcome }>();
  /**
   * The step rows of the jobs this node runs, by job id, as the database has them: loaded with
   * the claim and replaced by every row a write returns. Only the lease holder writes a running
   * job's steps, so each event's progress is computed from them instead of a read per event
   * (four statements of a one-step job's 26, issue 9).
   */
  private readonly stepsOf = new Map<string, JobStepEntity[]>();
  /** The claim's PREPARE statements (claimPrepared). */
  private claimStatements: string[] | undefined;
  /** This node recorded lesson samples since it last folded them (foldLessonsIfTaught). */
  private taught = false;
  /** The one-statement writes (startAlone, advanceAlone, finishAlone): those that meet in flight share a round trip and a commit. */
  private batcher: WriteBatcher | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
  ) {}

  /**
   * Claims up to `limit` jobs, oldest first within priority; none when nothing is eligible.
   * Two round trips (see `transaction`): the claim lock, the claim and the claimed jobs' steps
   * with BEGIN, then the `running` events with COMMIT, so the lock is held over one round trip,
   * not four. The claim and the steps' read are prepared once per connection (claimPrepared):
   * planning the claim took 1-2 ms, under the lock.
   */
  async claim(options: ClaimOptions, limit = 1): Promise<JobEntity[]> {
    const claim = { text: `EXECUTE quire_claim($1, $2, $3, $4, $5)`, values: [options.workerId, JSON.stringify(options.channels), options.defaultCapacity, options.leaseSeconds, limit] };
    return this.transaction(async (_manager, emit, [, claimed, steps]) => {
      const jobs = (claimed ?? []) as (JobEntity & { claim_wait_s?: number })[];
      for (const job of jobs) this.stepsOf.set(job.id, []);
      for (const step of (steps ?? []) as JobStepEntity[]) this.stepsOf.get(step.job_id)?.push(step);
      for (const job of jobs) {
        await emit({ type: 'job', ...targetOf(job), state: 'running' });
        if (job.claim_wait_s !== undefined) metrics.claimLatency.observe(Math.max(0, job.claim_wait_s));
        delete job.claim_wait_s;
      }
      return jobs;
    }, { prepare: this.claimPrepared(), opening: [`SELECT pg_advisory_xact_lock(${CLAIM_LOCK})`, claim, 'EXECUTE quire_claim_steps'] });
  }

  private get writes(): WriteBatcher {
    return (this.batcher ??= new WriteBatcher((this.dataSource.driver as unknown as { master: ConnectionPool }).master, WRITE_BATCHES_IN_FLIGHT));
  }

  /** The claim's statements, prepared on each connection that claims (see `claim`); built once. */
  private claimPrepared(): string[] {
    return (this.claimStatements ??= [
      `PREPARE quire_claim (text, jsonb, int, float8, int) AS ${claimSql(columnsOf(this.dataSource, JobEntity, 'jobs'))}`,
      // The steps of the jobs this transaction claimed, by the ids the claim kept: a query for
      // "the running jobs this transaction wrote" walked, by bitmap, an index entry and a heap
      // page for every job run since the last vacuum.
      `PREPARE quire_claim_steps AS SELECT ${columnsOf(this.dataSource, JobStepEntity, 's')} FROM job_steps s
       WHERE s.job_id = ANY (string_to_array(NULLIF(current_setting('${CLAIMED_SETTING}', true), ''), ',')::uuid[])
       ORDER BY s.job_id, s.position`,
    ]);
  }

  /** Renews the lease; reports whether it is still ours and whether someone asked to cancel. */
  async heartbeat(lease: Lease, leaseSeconds: number): Promise<{ alive: boolean; cancelRequested: boolean }> {
    const rows = await this.dataSource.query(
      `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3) WHERE id = $1 AND lease_token = $2 RETURNING cancel_requested`,
      [lease.jobId, lease.token, leaseSeconds],
    );
    const row = firstRow<{ cancel_requested: boolean }>(rows);
    return { alive: !!row, cancelRequested: row?.cancel_requested ?? false };
  }

  /** The started CTE's result columns, listed: a prepared statement's results may not change under it (src/db/prepared.ts). */
  private startedColumns(): string {
    return `${columnsOf(this.dataSource, JobStepEntity, 'started')}, started.taught_retried, started.taught_lead`;
  }

  /** The job's steps in order: as the claim loaded them, for a job this node runs. */
  async steps(jobId: string): Promise<JobStepEntity[]> {
    const known = this.stepsOf.get(jobId);
    if (known) return [...known];
    return this.dataSource.query(`SELECT * FROM job_steps WHERE job_id = $1 ORDER BY position`, [jobId]);
  }

  /** The job left this node (ended, waits, handed back, lease lost): its steps are no longer ours to know. */
  forget(jobId: string): void {
    this.stepsOf.delete(jobId);
    this.keptLessons.delete(jobId);
  }

  /** Keeps the known steps as the rows a write returned. */
  private known(rows: JobStepEntity[]): void {
    for (const row of rows) {
      const steps = this.stepsOf.get(row.job_id);
      const i = steps?.findIndex((s) => s.id === row.id) ?? -1;
      if (i >= 0) steps![i] = row;
    }
  }

  /**
   * The step starts. With no step end kept for this write (a job's first step, or after a skip
   * or a retry), in one statement (startAlone); otherwise with that end, in its transaction.
   */
  async stepStarted(lease: Lease, job: JobEntity, step: JobStepEntity): Promise<JobStepEntity> {
    // Alone only with the known steps, which give the events their progress.
    if (this.stepsOf.has(job.id)) return this.pendingEnds.has(lease.jobId) ? this.advanceAlone(lease, job, step) : this.startAlone(lease, job, step);
    return this.owned(lease, async (manager, emit) => {
      const [row] = firstRows<StartedRow>(await manager.query(`WITH ${startedCtes('')} SELECT * FROM started`, [step.id, stepStatesLeadingTo('running')]));
      if (!row) throw new Error(`step ${step.id} cannot become 'running' from its current state`);
      const updated = this.started(manager, job, step, row);
      await emit({ type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'running', data: { attempt: updated.attempt } });
      return updated;
    });
  }

  /**
   * A step's start as one autocommitted statement: the lease check (the job row locked for the
   * statement), the step's update and its event with NOTIFY, where the transaction took five
   * round trips (issue 9). The event's progress is computed before, from the known steps with
   * this one running from now; the attempt number comes from the update.
   */
  private async startAlone(lease: Lease, job: JobEntity, step: JobStepEntity): Promise<JobStepEntity> {
    const known = this.stepsOf.get(job.id)!;
    const progress = progressOf(known.map((s) => (s.id === step.id ? { ...s, state: 'running', date_started: new Date() } : s)));
    const input: DeployEventInput = { type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'running', progress, data: { attempt: 0 } };
    const event = eventRow(input);
    const [row] = firstRows<StartedRow & { leased: number; event_seq: string | null; event_at: Date | null }>(
      await this.writes.run(
        'start_alone',
        `WITH lease AS (SELECT id FROM jobs WHERE id = $3 AND lease_token = $4 FOR UPDATE),
           ${startedCtes(' AND EXISTS (SELECT 1 FROM lease)')},
           event AS (
             INSERT INTO deploy_events (type, job_id, step_id, deployment_id, group_id, cluster_id, payload)
             SELECT 'step', $3, $1, $5, $6, $7, jsonb_set($8::jsonb, '{data,attempt}', to_jsonb(started.attempt)) FROM started
             RETURNING *),
           ${notifiedCte('notified', 'event')}
         SELECT (SELECT count(*) FROM lease)::int AS leased, ${this.startedColumns()}, event.seq AS event_seq, event.at AS event_at, (SELECT count(*) FROM notified) AS notified
         FROM (SELECT 1) one LEFT JOIN started ON true LEFT JOIN event ON true`,
        [step.id, stepStatesLeadingTo('running'), lease.jobId, lease.token, job.deployment_id, job.group_id, job.cluster_id, JSON.stringify(event.payload)],
      ),
    );
    if (!row?.leased) throw new LeaseLostError(lease.jobId);
    if (!row.id || row.event_seq === null) throw new Error(`step ${step.id} cannot become 'running' from its current state`);
    const { leased: _leased, event_seq, event_at, notified: _notified, ...started } = row as typeof row & { notified?: unknown };
    const updated = this.started(null, job, step, started);
    this.events.publish([{ ...input, ...event.payload, data: { attempt: updated.attempt }, step_id: step.id, seq: Number(event_seq), at: event_at!.toISOString() }]);
    return updated;
  }

  /**
   * A step boundary as one autocommitted statement, where the transaction took six round trips
   * (issue 9): the lease check, the end of the step `stepDone` kept (as in endStep), the next
   * step's start (as in startAlone), the history folds, and both events with NOTIFY. The next
   * step's lead is counted from the end written here, as when the end joined its transaction.
   */
  private async advanceAlone(lease: Lease, job: JobEntity, step: JobStepEntity): Promise<JobStepEntity> {
    const { step: ending, outcome } = this.pendingEnds.get(lease.jobId)!;
    const known = this.stepsOf.get(job.id)!;
    const before = known.find((s) => s.id === ending.id) ?? ending;
    const endedRows = known.map((s) => (s.id === ending.id ? { ...s, state: 'done' as const } : s));
    const startedRows = endedRows.map((s) => (s.id === step.id ? { ...s, state: 'running' as const, date_started: new Date() } : s));
    const inputs: DeployEventInput[] = [
      ...(outcome.chunk ? [{ type: 'output' as const, ...targetOf(job), step_id: ending.id, step_name: ending.name, data: { chunk: outcome.chunk } }] : []),
      { type: 'step', ...targetOf(job), step_id: ending.id, step_name: ending.name, state: 'done', progress: progressOf(endedRows), data: { attempt: before.attempt, duration: 0 } },
      { type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'running', progress: progressOf(startedRows), data: { attempt: 0 } },
    ];
    const endEvent = outcome.chunk ? 1 : 0;
    const rows = inputs.map(eventRow);
    const lessons = this.keptLessons.get(lease.jobId) ?? [];
    const [row] = firstRows<StartedRow & { leased: number; ended_duration: number | null; events: { seq: string; at: string }[] | null; folded: string }>(
      await this.writes.run(
        'advance_alone',
        `WITH lease AS (SELECT id FROM jobs WHERE id = $3 AND lease_token = $4 FOR UPDATE),
         stepped AS (
           UPDATE job_steps SET state = 'done', date_finished = now(), duration = EXTRACT(EPOCH FROM (now() - date_started)),
             output = $5, output_bytes = $6, outputs = COALESCE($7::jsonb, outputs)
           WHERE id = $8 AND state = ANY($9) AND EXISTS (SELECT 1 FROM lease) RETURNING duration),
         ${startedCtes(' AND EXISTS (SELECT 1 FROM stepped)', true)},
         lessons AS (
           SELECT * FROM unnest($10::text[], $11::text[], $12::text[], $13::text[], $14::double precision[]) AS l(b, s, k, o, v)
           UNION ALL SELECT $15::text, $16::text, $17::text, o, v FROM stepped,
             LATERAL (VALUES ('done', stepped.duration), ('ran', 1::double precision)) AS d(o, v) WHERE $18 AND stepped.duration IS NOT NULL
           UNION ALL SELECT $15::text, $19::text, $20::text, o, v FROM started,
             LATERAL (VALUES ('retried', started.taught_retried), ('lead', started.taught_lead)) AS d(o, v) WHERE $21 AND v >= 0),
         history AS (
           ${SAMPLES_INSERT}
           SELECT b, s, k, o, v FROM lessons WHERE EXISTS (SELECT 1 FROM started)
           RETURNING 1),
         event AS (
           INSERT INTO deploy_events (type, job_id, step_id, deployment_id, group_id, cluster_id, payload)
           SELECT type, job_id, step_id, deployment_id, group_id, cluster_id,
             CASE WHEN ord = $28 THEN jsonb_set(payload, '{data,duration}', COALESCE(to_jsonb((SELECT duration FROM stepped)), 'null'::jsonb))
                  WHEN ord = $28 + 1 THEN jsonb_set(payload, '{data,attempt}', to_jsonb((SELECT attempt FROM started)))
                  ELSE payload END
           FROM unnest($22::text[], $23::uuid[], $24::uuid[], $25::uuid[], $26::uuid[], $27::uuid[], $29::jsonb[])
             WITH ORDINALITY AS e(type, job_id, step_id, deployment_id, group_id, cluster_id, payload, ord)
           WHERE EXISTS (SELECT 1 FROM started)
           ORDER BY ord
           RETURNING *),
         ${notifiedCte('notified', 'event')}
         SELECT (SELECT count(*) FROM lease)::int AS leased, ${this.startedColumns()}, (SELECT duration FROM stepped) AS ended_duration,
           (SELECT json_agg(json_build_object('seq', seq, 'at', at) ORDER BY seq) FROM event) AS events,
           (SELECT count(*) FROM history) AS folded, (SELECT count(*) FROM notified) AS notified
         FROM (SELECT 1) one LEFT JOIN started ON true`,
        [
          step.id,
          stepStatesLeadingTo('running'),
          lease.jobId,
          lease.token,
          outcome.output,
          outcome.bytes,
          outcome.outputs === undefined ? null : JSON.stringify(outcome.outputs),
          ending.id,
          stepStatesLeadingTo('done'),
          ...lessonColumns(lessons),
          job.book_name,
          ending.name,
          ending.estimate_key ?? '',
          learns(ending),
          step.name,
          step.estimate_key ?? '',
          learns(step),
          ...eventColumns(rows),
          endEvent + 1,
          rows.map((e) => JSON.stringify(e.payload)),
        ],
      ),
    );
    if (!row?.leased) throw new LeaseLostError(lease.jobId);
    if (!row.id || !row.events) throw new Error(`step ${step.id} cannot become 'running' from its current state`);
    const duration = this.endWritten(lease, ending, row.ended_duration, row.folded);
    const { leased: _leased, ended_duration: _ended, events, taught_retried: _retried, taught_lead: _lead, ...updated } = row as typeof row & { folded?: unknown; notified?: unknown };
    delete (updated as { folded?: unknown }).folded;
    delete (updated as { notified?: unknown }).notified;
    this.stepsOf.set(
      job.id,
      known.map((s) =>
        s.id === ending.id
          ? { ...s, state: 'done', outputs: outcome.outputs ?? s.outputs, output: outcome.output, output_bytes: String(outcome.bytes), duration }
          : s.id === step.id
            ? updated
            : s,
      ),
    );
    const recorded = committedEvents(rows, events!, { [endEvent]: { attempt: before.attempt, duration }, [endEvent + 1]: { attempt: updated.attempt } });
    this.events.publish(recorded);
    return updated;
  }

  /**
   * A started step's row, kept as known, and what its start teaches (BOOKS.md section 7), read
   * in the statement that started it: kept for the job's next write (with `manager`: this
   * transaction's), to fold with the step end's lessons: one upsert a step, not two.
   */
  private started(manager: EntityManager | null, job: JobEntity, step: JobStepEntity, row: StartedRow): JobStepEntity {
    const { taught_retried: retried, taught_lead: lead, ...updated } = row;
    this.known([updated]);
    if (learns(step)) {
      const lessons: Lesson[] = [];
      if (retried != null) lessons.push(['retried', Number(retried)]);
      if (lead != null && lead >= 0) lessons.push(['lead', Number(lead)]);
      if (manager) this.learn(manager, job, step, lessons, { keep: true });
      else this.keep(job.id, lessons.map((lesson) => lessonRow(job, step, lesson)));
    }
    return updated;
  }

  async stepSkipped(lease: Lease, job: JobEntity, step: JobStepEntity, reason: string): Promise<void> {
    await this.owned(lease, async (manager, emit) => {
      await this.setStep(manager, step.id, 'skipped', { error: reason });
      // Its `when` said no: recent jobs' share of such skips is the chance a later job runs it.
      if (learns(step)) this.learn(manager, job, step, [['ran', 0]]);
      await emit({ type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'skipped', progress: await this.progress(manager, job.id), data: { reason } });
    });
  }

  /** Stores the output so far and reports the new chunk. */
  async stepOutput(lease: Lease, job: JobEntity, step: JobStepEntity, stored: string, bytes: number, chunk: string): Promise<void> {
    await this.owned(lease, async (manager, emit) => {
      await manager.query(`UPDATE job_steps SET output = $2, output_bytes = $3 WHERE id = $1`, [step.id, stored, bytes]);
      await emit({ type: 'output', ...targetOf(job), step_id: step.id, step_name: step.name, data: { chunk } });
    });
  }

  async stepOverdue(lease: Lease, job: JobEntity, step: JobStepEntity, elapsed: number, threshold: 'estimate' | 'p90', limit: number): Promise<void> {
    await this.owned(lease, async (manager, emit) => {
      await emit({
        type: 'overdue',
        ...targetOf(job),
        step_id: step.id,
        step_name: step.name,
        state: 'running',
        progress: await this.progress(manager, job.id),
        data: { elapsed_s: elapsed, threshold, limit_s: limit },
      });
    });
  }

  /** A step ended done, error or cancel. Done and failed attempts teach their duration, by outcome. */
  async stepFinished(lease: Lease, job: JobEntity, step: JobStepEntity, outcome: StepOutcome): Promise<void> {
    await this.owned(lease, (manager, emit) => this.endStep(manager, emit, job, step, outcome));
  }

  /**
   * A step ended done and the job goes on: its end is written with the job's next write, in
   * the same transaction (the next step's start, a skip, the job's end, a hand-back), one
   * commit per step boundary instead of two (issue 9). Nothing reads it in between: the next
   * step is rendered from the outputs in memory. Its event commits with the row, as always. A
   * worker that dies before that write leaves the step `running`, exactly as if it had died a
   * moment earlier, and the step runs again on rescue. The runner calls `flushStepEnd` when the
   * run stops without another write (a lost lease).
   */
  stepDone(lease: Lease, job: JobEntity, step: JobStepEntity, outcome: StepOutcome & { state: 'done' }): void {
    this.pendingEnds.set(lease.jobId, { job, step, outcome });
  }

  /** Writes a step end `stepDone` kept, if it is still unwritten. */
  async flushStepEnd(lease: Lease): Promise<void> {
    if (!this.pendingEnds.has(lease.jobId)) return;
    try {
      await this.owned(lease, async () => undefined);
    } finally {
      this.pendingEnds.delete(lease.jobId);
    }
  }

  private async endStep(manager: EntityManager, emit: Emit, job: JobEntity, step: JobStepEntity, outcome: StepOutcome): Promise<void> {
    const fields: Record<string, unknown> = {
      date_finished: sql('now()'),
      duration: sql('EXTRACT(EPOCH FROM (now() - date_started))'),
      output: outcome.output,
      output_bytes: outcome.bytes,
    };
    if (outcome.outputs) fields.outputs = outcome.outputs;
    if (outcome.error) Object.assign(fields, errorFields(outcome.error));
    if (outcome.chunk) await emit({ type: 'output', ...targetOf(job), step_id: step.id, step_name: step.name, data: { chunk: outcome.chunk } });
    const updated = await this.setStep(manager, step.id, outcome.state, fields);
    // Recorded as samples with the commit (see learn).
    if (outcome.state !== 'cancel' && updated.duration !== null && learns(updated)) {
      const lessons: Lesson[] = [
        [finalOutcome(outcome.state, updated.on_failure), Number(updated.duration)],
        ['ran', 1],
      ];
      this.learn(manager, job, updated, lessons);
    }
    if (updated.duration !== null) metrics.stepDuration.observe({ kind: step.kind, outcome: outcome.state }, Number(updated.duration));
    await emit({
      type: 'step',
      ...targetOf(job),
      step_id: step.id,
      step_name: step.name,
      state: outcome.state,
      progress: await this.progress(manager, job.id),
      data: { attempt: updated.attempt, duration: updated.duration, ...(outcome.error ? { error: outcome.error.message } : {}) },
    });
  }

  /** The attempt failed but may succeed later: the job waits as `scheduled` until `delaySeconds` pass. */
  async retryLater(lease: Lease, job: JobEntity, step: JobStepEntity, delaySeconds: number, error: StepAttemptError, output: { output: string; bytes: number }): Promise<void> {
    await this.owned(lease, async (manager, emit) => {
      await this.setStep(manager, step.id, 'retrying', { ...errorFields(error), output: output.output, output_bytes: output.bytes, date_finished: sql('now()') });
      await this.setJob(manager, job.id, 'scheduled', { run_at: sql('now() + make_interval(secs => ?::double precision)', delaySeconds) });
      const progress = await this.progress(manager, job.id);
      await emit({ type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'retrying', progress, data: { error: error.message, attempt: error.attempt, retry_in_s: delaySeconds } });
      await emit({ type: 'job', ...targetOf(job), state: 'scheduled', progress, data: { retry_in_s: delaySeconds } });
    });
  }

  /** A manual step now waits for a person; the job keeps its locks but holds no worker. */
  async waitForPerson(lease: Lease, job: JobEntity, step: JobStepEntity, instructions: string): Promise<void> {
    await this.owned(lease, async (manager, emit) => {
      await this.setStep(manager, step.id, 'waiting', { outputs: { instructions } });
      await manager.query(`UPDATE jobs SET lease_token = NULL, lease_expires_at = NULL, locked_by = NULL WHERE id = $1`, [job.id]);
      await emit({ type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'waiting', progress: await this.progress(manager, job.id), data: { instructions } });
    });
  }

  /** Shutdown: the step goes back to pending without using up an attempt, the job to scheduled. */
  async handBack(lease: Lease, job: JobEntity, step: JobStepEntity | null, reason: string): Promise<void> {
    await this.owned(lease, async (manager, emit) => {
      if (step) {
        await this.setStep(manager, step.id, 'pending', {
          interruptions: sql('interruptions + 1'),
          errors: appendJson('errors', [{ at: new Date().toISOString(), attempt: step.attempt, message: reason }]),
        });
      }
      await this.setJob(manager, job.id, 'scheduled', { run_at: sql('now()') });
      await this.emitSteps(manager, emit, job, step ? [step] : [], 'pending', { reason });
      await emit({ type: 'job', ...targetOf(job), state: 'scheduled', data: { reason } });
    }, { wakeOthers: true }); // this worker is shutting down: another takes it
  }

  /** Ends the job; later unfinished steps become `skipped`; the deployment follows the outcome. */
  /** Ends the job; answers the moment it ended, which names this ending (a resumed job ends again). */
  async finishJob(lease: Lease, job: JobEntity, state: 'done' | 'error' | 'cancel', error: string | null): Promise<Date> {
    const ended = this.pendingEnds.get(lease.jobId);
    const owes = (job.notify ?? []).some((channel) => notifiesOn(channel, state as NotifyOutcome));
    if (ended && state === 'done' && !owes && this.stepsOf.has(job.id)) return this.finishAlone(lease, job, ended);
    return this.owned(lease, (manager, emit) => this.finishJobIn(manager, emit, job, state, error));
  }

  /**
   * The commonest ending, its last step done and nothing owed to notification channels, as
   * one autocommitted statement where the transaction took six round trips (issue 9): the
   * lease check, the step's end, the steps left over skipped, the job's end, its deployment's
   * new state, the history folds and the events with NOTIFY, each part as in endStep and
   * finishJobIn. Progress is computed before, from the known steps; the step's duration comes
   * from its update. Any other ending goes through the transaction.
   */
  private async finishAlone(lease: Lease, job: JobEntity, ended: { step: JobStepEntity; outcome: StepOutcome }): Promise<Date> {
    const { step, outcome } = ended;
    const known = this.stepsOf.get(job.id)!;
    const before = known.find((s) => s.id === step.id) ?? step;
    const skippable = stepStatesLeadingTo('skipped');
    const skipped = known.filter((s) => s.id !== step.id && skippable.includes(s.state));
    const after = known.map((s) => (s.id === step.id ? { ...s, state: 'done' as const } : skipped.includes(s) ? { ...s, state: 'skipped' as const } : s));
    const stepDoneProgress = progressOf(known.map((s) => (s.id === step.id ? { ...s, state: 'done' as const } : s)));
    const progress = progressOf(after);
    const inputs: DeployEventInput[] = [
      ...(outcome.chunk ? [{ type: 'output' as const, ...targetOf(job), step_id: step.id, step_name: step.name, data: { chunk: outcome.chunk } }] : []),
      { type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state: 'done', progress: stepDoneProgress, data: { attempt: before.attempt, duration: 0 } },
      ...skipped.map((s): DeployEventInput => ({ type: 'step', ...targetOf(job), step_id: s.id, step_name: s.name, state: 'skipped', progress })),
      { type: 'job', ...targetOf(job), state: 'done', progress, data: outcomeData(job) },
    ];
    const stepEvent = outcome.chunk ? 1 : 0;
    const rows = inputs.map(eventRow);
    const kept = this.keptLessons.get(lease.jobId) ?? [];
    const lessons = learns(step) ? kept : [];
    const [row] = firstRows<{ leased: number; date_done: Date | null; duration: number | null; events: { seq: string; at: string }[] | null; folded: string }>(
      await this.writes.run(
        'finish_alone',
        `WITH lease AS (SELECT id FROM jobs WHERE id = $1 AND lease_token = $2 FOR UPDATE),
         stepped AS (
           UPDATE job_steps SET state = 'done', date_finished = now(), duration = EXTRACT(EPOCH FROM (now() - date_started)),
             output = $4, output_bytes = $5, outputs = COALESCE($6::jsonb, outputs)
           WHERE id = $3 AND state = ANY($7) AND EXISTS (SELECT 1 FROM lease) RETURNING duration),
         skipped AS (
           UPDATE job_steps SET state = 'skipped' WHERE job_id = $1 AND id <> $3 AND state = ANY($8) AND EXISTS (SELECT 1 FROM stepped) RETURNING id),
         ended AS (
           UPDATE jobs SET state = 'done', lease_token = NULL, lease_expires_at = NULL, locked_by = NULL, cancel_requested = false,
             date_done = now(), error = NULL, chain_pending = $9
           WHERE id = $1 AND state = ANY($10) AND EXISTS (SELECT 1 FROM stepped) RETURNING date_done),
         deployment AS (
           UPDATE deployments SET state = COALESCE($11, state), last_error = NULL, date_updated = now()
           WHERE id = $12 AND EXISTS (SELECT 1 FROM ended) RETURNING id),
         lessons AS (
           SELECT * FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::double precision[]) AS l(b, s, k, o, v)
           UNION ALL SELECT $18::text, $19::text, $20::text, o, v FROM stepped,
             LATERAL (VALUES ('done', stepped.duration), ('ran', 1::double precision)) AS d(o, v) WHERE $21 AND stepped.duration IS NOT NULL),
         history AS (
           ${SAMPLES_INSERT}
           SELECT b, s, k, o, v FROM lessons WHERE EXISTS (SELECT 1 FROM ended)
           RETURNING 1),
         event AS (
           INSERT INTO deploy_events (type, job_id, step_id, deployment_id, group_id, cluster_id, payload)
           SELECT type, job_id, step_id, deployment_id, group_id, cluster_id,
             CASE WHEN ord = $28 THEN jsonb_set(payload, '{data,duration}', COALESCE(to_jsonb((SELECT duration FROM stepped)), 'null'::jsonb)) ELSE payload END
           FROM unnest($22::text[], $23::uuid[], $24::uuid[], $25::uuid[], $26::uuid[], $27::uuid[], $29::jsonb[])
             WITH ORDINALITY AS e(type, job_id, step_id, deployment_id, group_id, cluster_id, payload, ord)
           WHERE EXISTS (SELECT 1 FROM ended)
           ORDER BY ord
           RETURNING *),
         ${notifiedCte('notified', 'event')}
         SELECT (SELECT count(*) FROM lease)::int AS leased, (SELECT date_done FROM ended) AS date_done,
           (SELECT duration FROM stepped) AS duration,
           (SELECT json_agg(json_build_object('seq', seq, 'at', at) ORDER BY seq) FROM event) AS events,
           (SELECT count(*) FROM history) AS folded, (SELECT count(*) FROM deployment) AS deployments, (SELECT count(*) FROM notified) AS notified,
           (SELECT count(*) FROM skipped) AS skipped`,
        [
          job.id,
          lease.token,
          step.id,
          outcome.output,
          outcome.bytes,
          outcome.outputs === undefined ? null : JSON.stringify(outcome.outputs),
          stepStatesLeadingTo('done'),
          skippable,
          (job.on_success?.length ?? 0) > 0,
          jobStatesLeadingTo('done'),
          job.sets_state ?? null,
          job.deployment_id,
          ...lessonColumns(lessons),
          job.book_name,
          step.name,
          step.estimate_key ?? '',
          learns(step),
          ...eventColumns(rows),
          stepEvent + 1,
          rows.map((e) => JSON.stringify(e.payload)),
        ],
      ),
    );
    if (!row?.leased) throw new LeaseLostError(lease.jobId);
    if (!row.date_done || !row.events) throw new Error(`job ${job.id} cannot become 'done' from its current state`);
    const duration = this.endWritten(lease, step, row.duration, row.folded);
    // Known as written, for what reads them before the job leaves this node (its chain links render from the outputs).
    const endedAt = new Date(row.date_done);
    this.stepsOf.set(
      job.id,
      after.map((s) =>
        s.id === step.id
          ? { ...s, outputs: outcome.outputs ?? s.outputs, output: outcome.output, output_bytes: String(outcome.bytes), duration, date_finished: endedAt }
          : s,
      ),
    );
    const recorded = committedEvents(rows, row.events!, { [stepEvent]: { attempt: before.attempt, duration } });
    this.events.publish(recorded);
    countEndings(recorded);
    return endedAt;
  }

  /**
   * After a one-statement write ended a step done (advanceAlone, finishAlone): the kept end and
   * lessons are written, samples wait to be folded. Returns the step's duration.
   */
  private endWritten(lease: Lease, step: Pick<JobStepEntity, 'kind'>, written: number | string | null, folded: string | number): number | null {
    this.pendingEnds.delete(lease.jobId);
    this.keptLessons.delete(lease.jobId);
    this.taught ||= Number(folded) > 0;
    const duration = written === null ? null : Number(written);
    if (duration !== null) metrics.stepDuration.observe({ kind: step.kind, outcome: 'done' }, duration);
    return duration;
  }

  /** Jobs that ended a while ago with chain links still owed: their worker died before triggering them. */
  async pendingChains(olderThanSeconds: number): Promise<JobEntity[]> {
    return firstRows<JobEntity>(
      await this.dataSource.query(
        `SELECT * FROM jobs WHERE chain_pending AND date_done < now() - make_interval(secs => $1) ORDER BY date_done LIMIT 50`,
        [olderThanSeconds],
      ),
    );
  }

  /** Records a refused chain link once: the sweep after a crash may try the same link again. */
  async chainError(jobId: string, entry: ChainError): Promise<void> {
    await this.dataSource.query(`UPDATE jobs SET chain_errors = chain_errors || $2::jsonb WHERE id = $1 AND NOT chain_errors @> $3::jsonb`, [
      jobId,
      JSON.stringify([entry]),
      JSON.stringify([{ link: entry.link, index: entry.index }]),
    ]);
  }

  async chainTriggered(jobId: string): Promise<void> {
    await this.dataSource.query(`UPDATE jobs SET chain_pending = false WHERE id = $1`, [jobId]);
  }

  async finishJobIn(manager: EntityManager, emit: Emit, job: JobEntity, state: 'done' | 'error' | 'cancel', error: string | null): Promise<Date> {
    const chain = state === 'done' ? job.on_success : state === 'error' ? job.on_failure : [];
    // One statement (three before, issue 9): the steps left over are skipped, the job ends (its
    // lease cleared, as in setJob), and its deployment follows the outcome: a done job sets the
    // book's `sets_state` and clears the last error, a failed one records it.
    const [ended] = await prepared<{ date_done: Date | null; skipped: { id: string; name: string }[] | null }>(
      manager,
      'finish',
      `WITH skipped AS (
         UPDATE job_steps SET state = 'skipped' WHERE job_id = $1 AND state = ANY($2) RETURNING id, name, position
       ), ended AS (
         UPDATE jobs SET state = $3, lease_token = NULL, lease_expires_at = NULL, locked_by = NULL, cancel_requested = false,
           date_done = now(), error = $4, chain_pending = $5
         WHERE id = $1 AND state = ANY($6) RETURNING id, date_done
       ), deployment AS (
         UPDATE deployments SET date_updated = now(),
           state = CASE WHEN $3 = 'done' THEN COALESCE($8, state) ELSE state END,
           last_error = CASE WHEN $3 = 'done' THEN NULL ELSE $9 END
         WHERE id = $7 AND $3 IN ('done', 'error') AND EXISTS (SELECT 1 FROM ended) RETURNING id
       )
       SELECT (SELECT date_done FROM ended) AS date_done,
         (SELECT json_agg(json_build_object('id', id, 'name', name) ORDER BY position) FROM skipped) AS skipped,
         (SELECT count(*) FROM deployment) AS deployments`,
      [
        job.id,
        stepStatesLeadingTo('skipped'),
        state,
        error,
        (chain?.length ?? 0) > 0,
        jobStatesLeadingTo(state),
        job.deployment_id,
        job.sets_state ?? null,
        `${job.action}: ${error}`,
      ],
    );
    if (!ended?.date_done) throw new Error(`job ${job.id} cannot become '${state}' from its current state`);
    const skipped = ended.skipped ?? [];
    const known = this.stepsOf.get(job.id);
    if (known) for (const { id } of skipped) known.forEach((row, i) => row.id === id && (known[i] = { ...row, state: 'skipped' }));
    const date_done = ended.date_done;
    // Owed in this commit, like the chain links: ended and owing, or neither (DESIGN.md "Operating").
    await oweNotifications(manager, job, state);
    await this.emitSteps(manager, emit, job, skipped, 'skipped');
    await emit({ type: 'job', ...targetOf(job), state, data: { ...outcomeData(job), ...(error ? { error } : {}) } });
    return date_done;
  }

  /** Step events for steps one statement moved to `state`, each with the job's progress after it. */
  async emitSteps(manager: EntityManager, emit: Emit, job: Target, steps: { id: string; name: string }[], state: StepState, data?: Record<string, unknown>): Promise<void> {
    if (steps.length === 0) return;
    const progress = await this.progress(manager, job.id);
    for (const step of steps) await emit({ type: 'step', ...targetOf(job), step_id: step.id, step_name: step.name, state, progress, data });
  }

  /**
   * Jobs whose worker stopped renewing its lease go back to `scheduled`; the interrupted step runs
   * again. One whose cancel was requested ends `cancel` instead: nobody wants that step again.
   */
  async rescueExpired(): Promise<string[]> {
    return this.write(async (manager, emit) => {
      const expired = firstRows<JobEntity>(
        await manager.query(`SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED`),
      );
      for (const job of expired) {
        this.forget(job.id);
        const lost = `worker ${job.locked_by ?? '?'} stopped renewing its lease`;
        if (job.cancel_requested) {
          await this.endCancelled(manager, emit, job, `cancelled (${lost})`);
          continue;
        }
        const note = { at: new Date().toISOString(), message: `${lost}; the step runs again` };
        await this.setJob(manager, job.id, 'scheduled', { run_at: sql('now()') });
        const steps = await manager.query(
          `UPDATE job_steps SET state = 'pending', interruptions = interruptions + 1,
             errors = errors || jsonb_build_array(jsonb_build_object('at', $2::text, 'attempt', attempt, 'message', $3::text))
           WHERE job_id = $1 AND state = 'running' RETURNING id, name`,
          [job.id, note.at, note.message],
        );
        await this.emitSteps(manager, emit, job, firstRows(steps), 'pending', { reason: 'lease expired' });
        await emit({ type: 'job', ...targetOf(job), state: 'scheduled', data: { reason: 'lease expired' } });
      }
      return expired.map((j) => j.id);
    });
  }

  /**
   * A `manual` step waits holding no worker, so no worker's timer ends it: this sweep fails
   * the ones whose timeout passed, and the job goes back to the queue, where a worker applies
   * the step's `on_failure` exactly as for a person's rejection. Both rows are taken with SKIP
   * LOCKED: a person answering at this moment holds the step, and the sweep leaves it to them.
   */
  async expireWaiting(): Promise<string[]> {
    return this.write(async (manager, emit) => {
      const rows = firstRows<JobEntity & { step_id: string; step_name: string; step_attempt: number; step_timeout: number }>(
        await manager.query(
          `SELECT j.*, s.id AS step_id, s.name AS step_name, s.attempt AS step_attempt, s.timeout AS step_timeout
           FROM job_steps s JOIN jobs j ON j.id = s.job_id
           WHERE s.state = 'waiting' AND j.state = 'running' AND j.lease_token IS NULL
             AND s.date_started + make_interval(secs => s.timeout) < now()
           FOR UPDATE OF s, j SKIP LOCKED`,
        ),
      );
      for (const row of rows) {
        const error: StepAttemptError = { at: new Date().toISOString(), attempt: row.step_attempt, message: `timed out after ${row.step_timeout} s waiting for a person` };
        await this.setStep(manager, row.step_id, 'error', {
          ...errorFields(error),
          date_finished: sql('now()'),
          duration: sql('EXTRACT(EPOCH FROM (now() - date_started))'),
        });
        await this.setJob(manager, row.id, 'scheduled', { run_at: sql('now()') });
        await emit({ type: 'step', ...targetOf(row), step_id: row.step_id, step_name: row.step_name, state: 'error', data: { error: error.message } });
        await emit({ type: 'job', ...targetOf(row), state: 'scheduled' });
      }
      return rows.map((r) => r.id);
    });
  }

  /** Ends a job that no worker runs now as `cancel`: its unfinished running or waiting steps too. */
  async endCancelled(manager: EntityManager, emit: Emit, job: JobEntity, reason: string): Promise<void> {
    const cancelled = firstRows<JobStepEntity>(
      await manager.query(
        `UPDATE job_steps SET state = 'cancel', date_finished = now(), error = COALESCE(error, $2)
         WHERE job_id = $1 AND state IN ('waiting', 'retrying', 'running') RETURNING *`,
        [job.id, reason],
      ),
    );
    this.known(cancelled as JobStepEntity[]);
    await this.emitSteps(manager, emit, job, cancelled, 'cancel');
    await this.finishJobIn(manager, emit, job, 'cancel', reason);
  }

  private async progress(manager: EntityManager, jobId: string): Promise<Progress> {
    const known = this.stepsOf.get(jobId);
    if (known) return progressOf(known);
    const steps = (await manager.query(`SELECT ${PROGRESS_COLUMNS.join(', ')} FROM job_steps WHERE job_id = $1`, [jobId])) as JobStepEntity[];
    return progressOf(steps);
  }

  /**
   * What a step teaches, recorded as samples with this transaction's commit (`keep`: with the
   * job's next write), folded into the histories later (foldLessons).
   */
  private learn(manager: EntityManager, job: Pick<JobEntity, 'book_name'>, step: Pick<JobStepEntity, 'name' | 'estimate_key'>, lessons: Lesson[], { keep = false } = {}): void {
    const rows = lessons.map((lesson) => lessonRow(job, step, lesson));
    const tx = this.lessons.get(manager);
    if (!tx) throw new Error('lessons are learned in a transaction on an owned job');
    (keep ? tx.keep : tx.now).push(...rows);
  }

  /** Lessons for the job's next write. */
  private keep(jobId: string, rows: LessonRow[]): void {
    if (rows.length) this.keptLessons.set(jobId, [...(this.keptLessons.get(jobId) ?? []), ...rows]);
  }

  /** The statement recording lessons as samples, folded into their histories later (foldLessons). */
  private samplesStatement(lessons: LessonRow[]): Statement | null {
    if (!lessons.length) return null;
    return {
      text: `${SAMPLES_INSERT} SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::double precision[])`,
      values: lessonColumns(lessons),
    };
  }

  /** Folds lessons when this node recorded some since it last folded (samples left by a node that died go with them). */
  async foldLessonsIfTaught(): Promise<number> {
    return this.taught ? this.foldLessons() : 0;
  }

  /**
   * Folds the oldest recorded samples into their histories, up to `batch`, in one statement:
   * a running mean and the last HISTORY_WINDOW values, as foldDuration does one at a time.
   * One folder at a time (the advisory lock; another returns 0 at once), so histories take
   * samples in the order they were written. Returns how many it folded.
   */
  async foldLessons(batch = 5000): Promise<number> {
    this.taught = false;
    const [row] = firstRows<{ folded: number }>(
      await this.dataSource.query(
        `WITH folder AS (SELECT pg_try_advisory_xact_lock(${FOLD_LOCK}) AS held),
         taken AS (
           DELETE FROM step_duration_samples WHERE id IN (SELECT id FROM step_duration_samples ORDER BY id LIMIT $1) AND (SELECT held FROM folder)
           RETURNING *),
         taught AS (
           SELECT book_name, step_name, estimate_key, outcome, count(*)::int AS samples, avg(value) AS mean,
             (array_agg(value ORDER BY id))[greatest(1, count(*)::int - $2::int + 1):] AS recent
           FROM taken GROUP BY 1, 2, 3, 4),
         histories AS (
           INSERT INTO step_duration_history (book_name, step_name, estimate_key, outcome, samples, mean, recent)
           SELECT * FROM taught
           ${HISTORY_FOLD.replaceAll('$WINDOW', '$2')}
           RETURNING 1)
         SELECT (SELECT count(*) FROM taken)::int AS folded`,
        [batch, HISTORY_WINDOW],
      ),
    );
    return row?.folded ?? 0;
  }

  private async setStep(manager: EntityManager, stepId: string, state: StepState, fields: Record<string, unknown>): Promise<JobStepEntity> {
    const { sql, params } = assignments(fields, 3);
    const rows = await manager.query(
      `UPDATE job_steps SET state = $2${sql} WHERE id = $1 AND state = ANY($${params.length + 3}) RETURNING *`,
      [stepId, state, ...params, stepStatesLeadingTo(state)],
    );
    const row = firstRow<JobStepEntity>(rows);
    if (!row) throw new Error(`step ${stepId} cannot become '${state}' from its current state`);
    this.known([row]);
    return row;
  }

  private async setJob(manager: EntityManager, jobId: string, state: JobState, fields: Record<string, unknown>): Promise<{ date_done: Date | null }> {
    const clearLease = state !== 'running' ? ', lease_token = NULL, lease_expires_at = NULL, locked_by = NULL, cancel_requested = false' : '';
    const { sql, params } = assignments(fields, 3);
    const rows = await manager.query(
      `UPDATE jobs SET state = $2${clearLease}${sql} WHERE id = $1 AND state = ANY($${params.length + 3}) RETURNING id, date_done`,
      [jobId, state, ...params, jobStatesLeadingTo(state)],
    );
    const row = firstRow<{ date_done: Date | null }>(rows);
    if (!row) throw new Error(`job ${jobId} cannot become '${state}' from its current state`);
    return row;
  }

  /**
   * A transaction on a job this worker still owns; a step end `stepDone` kept is written first.
   * The lease check rides on the BEGIN (one round trip, not three: issue 9).
   * `wakeOthers`: whether its commit wakes every node's claim loop. Not by default: a job that
   * leaves this worker (ended, waits for a retry or a person) makes room here, and this
   * worker's claim loop runs right after (Worker); it wakes the others itself when it cannot
   * take all there may be. Every job end woke every worker of every node, and with 4 worker
   * processes their claims queued on the claim lock (4 workers drained slower than 1, issue 9).
   */
  private owned<T>(lease: Lease, fn: (manager: EntityManager, emit: Emit) => Promise<T>, { wakeOthers = false } = {}): Promise<T> {
    const ended = this.pendingEnds.get(lease.jobId);
    // Taken out while this transaction folds them: another write of the job at the same time
    // (an output flush, an overdue event) must not fold them twice.
    const kept = this.keptLessons.get(lease.jobId) ?? [];
    this.keptLessons.delete(lease.jobId);
    const lessons = { now: [...kept], keep: [] as LessonRow[] };
    return this.transaction(async (manager, emit, [leased]) => {
      if (!leased?.length) throw new LeaseLostError(lease.jobId);
      this.lessons.set(manager, lessons);
      if (ended) await this.endStep(manager, emit, ended.job, ended.step, ended.outcome);
      return fn(manager, emit);
    }, {
      wakeOthers,
      opening: [{ text: `SELECT 1 FROM jobs WHERE id = $1 AND lease_token = $2 FOR UPDATE`, values: [lease.jobId, lease.token] }],
      last: () => {
        const statement = this.samplesStatement(lessons.now);
        this.taught ||= statement !== null;
        return statement ? [statement] : [];
      },
    }).then((result) => {
      // Forgotten only once it committed: a failed write leaves it for flushStepEnd to retry.
      if (ended && this.pendingEnds.get(lease.jobId) === ended) this.pendingEnds.delete(lease.jobId);
      this.keep(lease.jobId, lessons.keep);
      return result;
    }, (error: unknown) => {
      this.keep(lease.jobId, kept); // not folded: for the next write, if there is one
      throw error;
    });
  }

  /**
   * A transaction whose events are published once it commits. `opening` statements go with its
   * BEGIN (their rows in `tx.opened`); statements `fn` hands to `tx.later` go with its COMMIT,
   * for inserts that nothing in the transaction reads back (a trigger's steps and activity), so
   * a trigger takes three round trips fewer (issue 9).
   */
  async write<T>(
    fn: (manager: EntityManager, emit: Emit, tx: { opened: unknown[][]; later(statement: Statement): void }) => Promise<T>,
    { opening }: { opening?: Statement[] } = {},
  ): Promise<T> {
    const later: Statement[] = [];
    return this.transaction((manager, emit, opened) => fn(manager, emit, { opened, later: (statement) => later.push(statement) }), { opening, last: () => later });
  }

  /**
   * The transaction under `claim`, `write` and `owned`, with the stall guard (see
   * STALLED_TRANSACTION_MS). Two round trips when `fn` reads and writes nothing itself: BEGIN,
   * the guard and the `opening` statements (the lease check; the claim lock, the claim and its
   * steps) in the first, whose rows `fn` gets in `opened`; the events, the `last` statements and
   * COMMIT in the second (src/db/one-trip.ts). Each was a round trip of its own: a claim took
   * five, a write of an owned job four (issue 9). A job event that can free a lock or a channel
   * slot (the job ended, went back to the queue, or a step waits for a person) wakes every
   * node's claim loop from this commit, unless `wakeOthers` is off (see `owned`).
   */
  private async transaction<T>(
    fn: (manager: EntityManager, emit: Emit, opened: unknown[][]) => Promise<T>,
    { wakeOthers = true, prepare = [], opening = [], last }: { wakeOthers?: boolean; prepare?: string[]; opening?: (Statement | string)[]; last?: () => Statement[] } = {},
  ): Promise<T> {
    let recorded: DeployEvent[];
    let woken = false;
    let value: T;
    const runner = this.dataSource.createQueryRunner();
    // TypeORM is told a transaction is open, so nothing in `fn` starts another.
    const state = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
    try {
      const client = (await runner.connect()) as PgClient;
      await prepareOnce(client, prepare); // the statements `opening` executes
      const opened = (await oneTrip(client, ['BEGIN', `SET LOCAL idle_in_transaction_session_timeout = ${STALLED_TRANSACTION_MS}`, ...opening])).slice(2);
      state.isTransactionActive = true;
      state.transactionDepth = 1;
      const manager = runner.manager;
      try {
        const events: DeployEventInput[] = [];
        value = await fn(
          manager,
          async (event) => {
            // Every job and step event tells the progress after its change.
            const progress = event.progress ?? (event.type === 'job' || event.type === 'step' ? await this.progress(manager, event.job_id) : undefined);
            // The wake-up rides on the events' insert (NOTIFY is delivered at commit), once a transaction.
            woken ||= wakeOthers && ((event.type === 'job' && event.state !== 'running') || (event.type === 'step' && event.state === 'waiting'));
            events.push({ ...event, progress });
          },
          opened,
        );
        const recording = this.events.recording(events, { wake: woken });
        const closing = [...(recording ? [recording.statement] : []), ...(last?.() ?? [])];
        const [written] = await oneTrip(client, [...closing, 'COMMIT']);
        recorded = recording ? recording.read(written!) : [];
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      state.isTransactionActive = false;
      state.transactionDepth = 0;
      await runner.release();
    }
    this.events.publish(recorded, { wake: woken });
    countEndings(recorded);
    return value;
  }
}

/** The pg connection under a TypeORM query runner. */
interface PgClient {
  query(text: string): Promise<unknown>;
}



/** How a step attempt ended; `chunk`: its last live output, sent as an `output` event before the step's. */
type StepOutcome = {
  state: 'done' | 'error' | 'cancel';
  outputs?: Record<string, unknown>;
  output: string;
  bytes: number;
  chunk?: string;
  error?: StepAttemptError;
};

export type Emit = (event: DeployEventInput) => Promise<void>;

/** An outcome and the value it teaches (seconds, or 1/0 for `ran`). */
type Lesson = [Outcome, number];

function lessonRow(job: Pick<JobEntity, 'book_name'>, step: Pick<JobStepEntity, 'name' | 'estimate_key'>, [outcome, value]: Lesson): LessonRow {
  return { book: job.book_name, step: step.name, key: step.estimate_key ?? '', outcome, value };
}

/**
 * A step's start ($1: its id, $2: the states it may start from), and what it teaches, read in
 * the same statement (the CTE sees the row as it was before):
 * - retried: the attempt before this one failed and was retried; what it cost runs from its
 *   start to this one's, its wait for the retry included;
 * - lead: a first attempt, the time since the step before it ended (for the first step: since
 *   the job was created, resumed or due), so the ETA counts the engine's own latency and
 *   bookkeeping; on a loaded 2-core box the estimates fell 5-10% short without it on jobs of
 *   0.5 s steps (bench/eta-accuracy.mjs). A first step's lead also holds any wait for its
 *   deployment or channel; the estimate takes the median lead, so rare waits do not count.
 * `guard` is added to the read's WHERE; `previousEndsNow`: a step before it ends in the same
 * statement (whose CTEs do not see that end).
 */
function startedCtes(guard: string, previousEndsNow = false): string {
  return `taught AS (
      SELECT
        CASE WHEN s.state = 'retrying' THEN EXTRACT(EPOCH FROM (now() - s.date_started))::double precision END AS retried,
        CASE WHEN s.state = 'pending' AND s.attempt = 0 THEN EXTRACT(EPOCH FROM (now() - GREATEST(j.date_scheduled, j.run_at,
          (SELECT max(p.date_finished) FROM job_steps p WHERE p.job_id = s.job_id AND p.position < s.position)${previousEndsNow ? ', now()' : ''})))::double precision END AS lead
      FROM job_steps s JOIN jobs j ON j.id = s.job_id WHERE s.id = $1${guard}),
    started AS (
      UPDATE job_steps SET state = 'running', attempt = attempt + 1, date_started = now(), date_finished = NULL, duration = NULL, error = NULL
      FROM taught WHERE job_steps.id = $1 AND job_steps.state = ANY($2)
      RETURNING job_steps.*, taught.retried AS taught_retried, taught.lead AS taught_lead)`;
}

type StartedRow = JobStepEntity & { taught_retried: number | null; taught_lead: number | null };

/** Where lessons are recorded: one sample row each, folded into the histories by foldLessons. */
const SAMPLES_INSERT = `INSERT INTO step_duration_samples (book_name, step_name, estimate_key, outcome, value)`;

/** How samples (EXCLUDED: their count, mean and last values) fold into a history: a running mean, and the last $WINDOW values. */
const HISTORY_FOLD = `ON CONFLICT (book_name, step_name, estimate_key, outcome) DO UPDATE SET
  samples = step_duration_history.samples + EXCLUDED.samples,
  mean = step_duration_history.mean + (EXCLUDED.mean - step_duration_history.mean) * EXCLUDED.samples / (step_duration_history.samples + EXCLUDED.samples),
  recent = (step_duration_history.recent || EXCLUDED.recent)[greatest(1, cardinality(step_duration_history.recent) + cardinality(EXCLUDED.recent) - $WINDOW::int + 1):],
  date_updated = now()`;

/** Events as one statement wrote them: its seqs and times, and the data it filled in, by index. */
function committedEvents(rows: ReturnType<typeof eventRow>[], written: { seq: string; at: string }[], data: Record<number, Record<string, unknown>>): DeployEvent[] {
  return rows.map(({ input, payload, step_id }, i) => ({
    ...input,
    ...payload,
    ...(data[i] ? { data: data[i] } : {}),
    step_id,
    seq: Number(written[i]!.seq),
    at: new Date(written[i]!.at).toISOString(),
  }));
}

/** Lessons as the five arrays the sample inserts unnest: book, step, key, outcome, value. */
function lessonColumns(lessons: LessonRow[]): [string[], string[], string[], string[], number[]] {
  return [lessons.map((l) => l.book), lessons.map((l) => l.step), lessons.map((l) => l.key), lessons.map((l) => l.outcome), lessons.map((l) => l.value)];
}

/** A lesson with the history it goes to. */
interface LessonRow {
  book: string;
  step: string;
  key: string;
  outcome: Outcome;
  value: number;
}

/** Manual steps do not learn: how long a person takes says nothing about the next time. */
function learns(step: Pick<JobStepEntity, 'kind'>): boolean {
  return step.kind !== 'manual';
}

type Target = Pick<JobEntity, 'id' | 'deployment_id' | 'group_id' | 'cluster_id'>;

export function targetOf(job: Target) {
  return { job_id: job.id, deployment_id: job.deployment_id, group_id: job.group_id, cluster_id: job.cluster_id };
}

/** What a job's final event carries for notifications (and the `should_notify` switch). */
export function outcomeData(job: Pick<JobEntity, 'book_name' | 'action' | 'context' | 'should_notify'>) {
  return { book: job.book_name, action: job.action, deployment: job.context?.deployment?.name, should_notify: job.should_notify };
}

/**
 * Every job's end goes through a transaction of this store (worker, rescuer, timeout sweep,
 * cancel) and its final event carries the book: counted once that transaction committed.
 */
function countEndings(events: DeployEvent[]): void {
  for (const event of events) {
    const book = (event.data as { book?: string } | undefined)?.book;
    if (event.type === 'job' && book && (event.state === 'done' || event.state === 'error' || event.state === 'cancel')) {
      metrics.jobsEnded.inc({ book, outcome: event.state });
    }
  }
}

function errorFields(error: StepAttemptError): Record<string, unknown> {
  return { error: error.message, errors: appendJson('errors', [error]) };
}

/** An SQL expression for a column, with `?` standing for its parameters. */
class Sql {
  constructor(
    readonly text: string,
    readonly params: unknown[] = [],
  ) {}
}
const sql = (text: string, ...params: unknown[]) => new Sql(text, params);
const appendJson = (column: string, value: unknown) => sql(`${column} || ?::jsonb`, JSON.stringify(value));

/** `, col = $n` pairs; Sql values are expressions whose `?` become numbered parameters. */
function assignments(fields: Record<string, unknown>, firstIndex: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const next = (value: unknown) => {
    params.push(value);
    return `$${firstIndex + params.length - 1}`;
  };
  let text = '';
  for (const [column, value] of Object.entries(fields)) {
    if (value instanceof Sql) {
      let i = 0;
      text += `, ${column} = ${value.text.replace(/\?/g, () => next(value.params[i++]))}`;
    } else {
      text += `, ${column} = ${next(value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value)}`;
    }
  }
  return { sql: text, params };
}

/** pg returns [rows, count] for UPDATE ... RETURNING through TypeORM, plain rows for SELECT. */
function firstRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

function firstRow<T>(result: unknown): T | undefined {
  return firstRows<T>(result)[0];
}
