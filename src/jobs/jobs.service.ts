import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import { JobEntity } from './job.entity.js';
import { JobStepEntity } from './job-step.entity.js';
import { compileJob, historyKey, type CompiledJob } from './job-compiler.js';
import { jobLink, jobView, progressOf, type JobLink, type JobView } from './job.view.js';
import { activityOf, activityStatement, recordActivity, recordTriggered, type ActivityView } from './job-activity.js';
import { JOB_STATES, type JobState } from './job-state.js';
import { foldDuration, type DurationHistory, type Outcome, type StepHistory } from './estimates.js';
import { processSecrets } from '../engine/secrets.js';
import { BooksService } from '../books/books.service.js';
import { contentHash } from '../books/canonical-json.js';
import { InventoryService, type DeploymentTarget } from '../inventory/inventory.service.js';
import { ErrorCode, QuireError, notFound } from '../common/errors.js';
import { isUuid } from '../common/input.js';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';
import { handlerRegistry } from '../steps/demo.handlers.js';
import type { BookVersionEntity } from '../books/book-version.entity.js';
import { templates } from '../templates/template-engine.js';
import { runTimeFields } from '../books/templated-fields.js';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import { PUBSUB } from '../db/pubsub.provider.js';
import { JobStore, outcomeData, targetOf } from '../engine/job-store.js';
import { FINAL_JOB_STATES, stepStatesLeadingTo } from './job-state.js';
import { inScope, maySee, scopeParam, scopeSql, visible, type ClusterScope, type Principal } from '../auth/principal.js';
import { NotificationStore, oweNotifications, type NotificationView } from '../notifications/notification-store.js';
import { metrics } from '../observability/metrics.js';

export type Scope = 'deployment' | 'group' | 'cluster';

export interface TriggerRequest {
  scope: Scope;
  target: string;
  action: string;
  params?: unknown;
  triggeredBy: string;
  idempotencyKey?: string;
  parentJobId?: string;
  /** a chained trigger's `delay`: the job may not start before it passes */
  delaySeconds?: number;
  /** the API caller; a token limited to some clusters sees and acts on nothing else */
  principal?: Principal;
  /**
   * For jobs the engine makes (trigger steps, chain links): the clusters of whoever triggered the
   * root of the chain, which the new job may not leave and passes on to its own children.
   */
  scopeClusters?: ClusterScope;
}

export interface JobFilter {
  deployment?: string;
  state?: string;
  book?: string;
  action?: string;
  /** a deployment, group or cluster name */
  target?: string;
  /** free text: id prefix, book, action, target, who triggered, error, params */
  q?: string;
  since?: string;
  until?: string;
  /** failed, or waiting for a person */
  attention?: boolean;
  limit?: number;
  /** the `next_cursor` of the page before: the id of its last job */
  cursor?: string;
}

/** `GET /api/jobs` pages: 50 by default, at most 500. */
export const JOB_PAGE = { default: 50, max: 500 };

export type JobDetail = JobView & {
  parent: JobLink | null;
  children: JobLink[];
  activity: ActivityView[];
  notifications: NotificationView[];
};

/** Jobs a fan-out stores per transaction: big enough that statements stop dominating, small enough that a batch's locks are brief. */
const FAN_OUT_BATCH = 250;

export interface FanOutRequest {
  scope: 'group' | 'cluster';
  /** the group or cluster, by id or name */
  target: string;
  /** a deployment-scope action, run on each deployment */
  action: string;
  params?: unknown;
  /** only deployments of this kind */
  kind?: string;
  triggeredBy: string;
  principal?: Principal;
}

export interface FanOutResult {
  created: number;
  /** deployments whose live job `unique` returned (the same params) */
  existing: number;
  jobs: { id: string; deployment: string; created: boolean }[];
  /** deployments that got no job, each with the error its own trigger would have answered */
  refused: { deployment: string; error: string; message: string }[];
}

export interface TriggerResult {
  job: JobView;
  /** false when `unique` or an Idempotency-Key returned a job that already existed */
  created: boolean;
}

@Injectable()
export class JobsService {
  /**
   * Which secrets this node has configured (names only): a step's `when` may test that when the
   * job is created. From the environment as the process started: by now the secrets are out of
   * process.env (engine/secrets.ts).
   */
  private readonly secrets = processSecrets().secrets;

  constructor(
    private readonly dataSource: DataSource,
    private readonly books: BooksService,
    private readonly inventory: InventoryService,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
    @Inject(PUBSUB) private readonly pubsub: PubSub,
    private readonly store: JobStore,
  ) {}

  /** Compiles the book for the target and stores the job snapshot in one transaction. */
  async trigger(request: TriggerRequest): Promise<TriggerResult> {
    // The target is resolved first: a retry may name it by id or by name, and must replay even
    // when the job it created has since moved the deployment to a state allowed_from refuses.
    const target = await this.resolveTarget(request);
    const requestHash = hashRequest(request, target);
    if (request.idempotencyKey) {
      const replay = await this.replayIdempotent(request, request.idempotencyKey, requestHash);
      if (replay) return { job: replay, created: false };
    }
    const version = await this.bookFor(request, target);
    const compiled = await this.compile(version, target, request.params, request.triggeredBy);
    // The commit that stores the job wakes the workers of every node (its `scheduled` event, see
    // JobStore.transaction); their poll finds the job anyway if the wake-up is lost. A second
    // NOTIFY here cost a round trip and sent every worker into an empty claim (issue 9).
    return this.storeJob(compiled, request, requestHash);
  }

  /**
   * The fan-out: the deployment action on every deployment of a group or cluster the caller may
   * see (BOOKS.md section 3), each job exactly what its own trigger would make (its book by
   * kind, allowed_from, params, serialize, estimates, `unique`). Compiled here in one pass, the
   * history read once per book, and stored FAN_OUT_BATCH jobs a transaction: one statement each
   * for the deployment locks, the jobs, the steps and the activity, plus each job's event, in
   * the commit that stores it. A single API trigger makes 16-20 statements and an HTTP round
   * trip per job (bench/profile-trigger.mjs): 10,000 of them took 70 s on the 2-core box, the
   * fan-out 5.2 s (bench/fleet.mjs, README "Fleet").
   * A deployment refused (no book for its kind, its state, its params) is reported, and the
   * others still get their job.
   */
  async triggerEach(request: FanOutRequest): Promise<FanOutResult> {
    const scope = (await this.resolveTarget({ ...request, scope: request.scope })) as DeploymentTarget;
    const where = request.scope === 'group' ? { group_id: scope.group!.id } : { cluster_id: scope.cluster!.id };
    const targets = await this.inventory.deploymentTargetsIn({ ...where, kind: request.kind }, request.principal?.clusterIds ?? null);
    const result: FanOutResult = { created: 0, existing: 0, refused: [], jobs: [] };
    const refuse = (deployment: string, error: unknown) => {
      if (!(error instanceof QuireError)) throw error;
      result.refused.push({ deployment, error: error.code, message: error.message });
    };
    const books = new Map<string, Promise<{ version: BookVersionEntity; history: Map<string, StepHistory> } | QuireError>>();
    const bookOf = (kind: string) => {
      let found = books.get(kind);
      if (!found) {
        found = this.books
          .forAction('deployment', request.action, kind)
          .then(async (version) => ({ version, history: await this.historyOf(version) }))
          .catch((error: unknown) => {
            if (error instanceof QuireError) return error;
            throw error;
          });
        books.set(kind, found);
      }
      return found;
    };
    const compiled: { job: CompiledJob; request: TriggerRequest; hash: string }[] = [];
    for (const target of targets) {
      const name = target.deployment.name;
      const book = await bookOf(target.deployment.kind);
      if (book instanceof QuireError) {
        refuse(name, book);
        continue;
      }
      const single: TriggerRequest = { ...request, scope: 'deployment', target: target.deployment.id };
      try {
        assertAllowedFrom(book.version, request.action, target.deployment);
        compiled.push({
          job: await this.compile(book.version, target, request.params, request.triggeredBy, book.history),
          request: single,
          hash: hashRequest(single, target),
        });
      } catch (error) {
        refuse(name, error);
      }
    }
    for (let i = 0; i < compiled.length; i += FAN_OUT_BATCH) {
      await this.storeBatch(compiled.slice(i, i + FAN_OUT_BATCH), result);
    }
    // Each batch's commit woke the workers (see trigger).
    return result;
  }

  /** One transaction of the fan-out; what a single trigger's storeJob does, a batch at a time. */
  private async storeBatch(batch: { job: CompiledJob; request: TriggerRequest; hash: string }[], result: FanOutResult): Promise<void> {
    const outcome = await this.store.write(async (manager, emit) => {
      // As in storeJob: a deployment deleted meanwhile is gone before this, or waits for it.
      const present = new Set(
        (
          (await manager.query(`SELECT id FROM deployments WHERE id = ANY($1::uuid[]) FOR SHARE`, [
            batch.map((b) => b.job.deployment_id),
          ])) as {
            id: string;
          }[]
        ).map((r) => r.id),
      );
      const now = new Date();
      const candidates = batch.filter((b) => present.has(b.job.deployment_id!));
      const inserted = candidates.length
        ? await manager
            .createQueryBuilder()
            .insert()
            .into(JobEntity)
            .values(candidates.map((b) => jobRow(b.job, b.request, b.hash, now)) as never)
            .orIgnore()
            .returning(['id'])
            .execute()
        : { raw: [] };
      const stored = new Set((inserted.raw as { id: string }[]).map((r) => r.id));
      const created = candidates.filter((b) => stored.has(b.job.id));
      if (created.length) {
        await manager.insert(JobStepEntity, created.flatMap((b) => stepRows(b.job)) as never);
        await recordTriggered(
          manager,
          created.map((b) => b.job.id),
          created[0]!.request.triggeredBy,
        );
      }
      for (const b of created) {
        await emit(createdEvent(b.job));
        if (b.job.skip_reason !== null) await oweNotifications(manager, b.job, 'done');
      }
      // `unique` found a live job: the same params get it back, others are refused (findDuplicate).
      const existing: { deployment: string; id: string }[] = [];
      const refused: { deployment: string; error: unknown }[] = [];
      for (const b of batch) {
        const name = b.job.context.deployment!.name;
        if (!present.has(b.job.deployment_id!)) refused.push({ deployment: name, error: notFound('deployment', name) });
        else if (!stored.has(b.job.id)) {
          try {
            existing.push({ deployment: name, id: await this.findDuplicate(manager, b.job, b.request, b.hash) });
          } catch (error) {
            refused.push({ deployment: name, error });
          }
        }
      }
      return { created, existing, refused };
    });
    for (const b of outcome.created) result.jobs.push({ id: b.job.id, deployment: b.job.context.deployment!.name, created: true });
    for (const e of outcome.existing) result.jobs.push({ id: e.id, deployment: e.deployment, created: false });
    for (const r of outcome.refused) {
      if (!(r.error instanceof QuireError)) throw r.error;
      result.refused.push({ deployment: r.deployment, error: r.error.code, message: r.error.message });
    }
    result.created += outcome.created.length;
    result.existing += outcome.existing.length;
    for (const b of outcome.created) metrics.jobsCreated.inc({ book: b.job.book_name });
  }

  /** A dry run: the job that would be created, every step as it would run; nothing stored. */
  async plan(request: Omit<TriggerRequest, 'idempotencyKey'>) {
    const { version, target } = await this.resolve(request);
    const compiled = await this.compile(version, target, request.params, request.triggeredBy);
    let offset = 0;
    const steps = compiled.steps.map((step) => {
      const start = offset;
      if (step.state !== 'skipped') offset += step.estimated_duration * step.run_chance;
      return {
        position: step.position,
        name: step.name,
        kind: step.kind,
        description: step.description,
        state: step.state,
        estimated_duration: step.estimated_duration,
        estimate_source: step.estimate_source,
        estimate_runs: step.estimate_runs,
        estimate_p90: step.estimate_p90,
        run_chance: step.run_chance,
        timeout: step.timeout,
        retry: step.retry,
        on_failure: step.on_failure,
        data: step.data,
        starts_after_s: start,
        rendered: renderForPlan(step.spec, { ...compiled.context, step: { data: step.data } }),
      };
    });
    return {
      dry_run: true,
      book: compiled.book_name,
      book_version: version.author_version ?? version.hash.slice(0, 12),
      action: compiled.action,
      scope: compiled.scope,
      deployment: compiled.context.deployment?.name ?? null,
      params: compiled.params,
      priority: compiled.priority,
      channel: compiled.channel,
      locks: compiled.locks,
      skip_reason: compiled.skip_reason,
      eta_s: compiled.eta_s,
      eta_basis: compiled.eta_basis,
      eta_runs: compiled.eta_runs,
      steps,
    };
  }

  /**
   * One page of jobs, newest first, and the cursor of the next page (null on the last one). The
   * keyset is (date_created, id) read from the cursor's own row, so it is exact to the
   * microsecond, and every page is an index range (idx_jobs_created and the per-filter indexes
   * of migration 1765910000000) however deep it is.
   */
  async list(filter: JobFilter, principal?: Principal): Promise<{ jobs: JobView[]; next_cursor: string | null }> {
    const qb = this.dataSource.getRepository(JobEntity).createQueryBuilder('j');
    if (principal?.clusterIds) qb.andWhere('j.cluster_id = ANY(:clusters)', { clusters: principal.clusterIds });
    if (filter.deployment) {
      // Another cluster's deployment filters like a missing one: 404, not an empty list.
      const deployment = await this.inventory.getDeployment(filter.deployment);
      qb.andWhere('j.deployment_id = :deployment', {
        deployment: visible(principal, 'deployment', filter.deployment, deployment, deployment.cluster_id).id,
      });
    }
    if (filter.state) {
      const states = filter.state.split(',');
      const unknown = states.filter((s) => !JOB_STATES.includes(s as JobState));
      if (unknown.length) {
        throw new QuireError(ErrorCode.InvalidInput, `unknown job state '${unknown.join(', ')}' (states: ${JOB_STATES.join(', ')})`, [
          { field: 'state', message: 'unknown state', value: filter.state },
        ]);
      }
      qb.andWhere('j.state = ANY(:states)', { states });
    }
    if (filter.book) qb.andWhere('j.book_name = :book', { book: filter.book });
    if (filter.action) qb.andWhere('j.action = :action', { action: filter.action });
    // A target by name, whatever its scope: the name a person sees on the card.
    if (filter.target) {
      qb.andWhere(
        "(j.context->'deployment'->>'name' = :target OR j.context->'group'->>'name' = :target OR j.context->'cluster'->>'name' = :target)",
        { target: filter.target },
      );
    }
    if (filter.q) {
      const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere(
        `(j.id::text LIKE :prefix OR j.book_name ILIKE :like OR j.action ILIKE :like OR j.triggered_by ILIKE :like OR j.error ILIKE :like
          OR j.context->'deployment'->>'name' ILIKE :like OR j.context->'group'->>'name' ILIKE :like OR j.context->'cluster'->>'name' ILIKE :like
          OR j.params::text ILIKE :like)`,
        // An id prefix only when the text could be one: stripped of its other letters, "mixed"
        // was the prefix "ed", and found every job whose id starts so (a flaky test, 1 in 256).
        { like, prefix: /^[0-9a-f-]+$/i.test(filter.q) ? `${filter.q.toLowerCase()}%` : 'x' },
      );
    }
    if (filter.since) qb.andWhere('j.date_created >= :since', { since: filter.since });
    if (filter.until) qb.andWhere('j.date_created < :until', { until: filter.until });
    // Needs a person: it failed, or a manual step waits for someone.
    if (filter.attention) {
      // a waiting step's job stays `running`: only those jobs' steps are read
      qb.andWhere(
        `(j.state = 'error' OR (j.state = 'running' AND EXISTS (SELECT 1 FROM job_steps s WHERE s.job_id = j.id AND s.state = 'waiting')))`,
      );
    }
    if (filter.cursor !== undefined) {
      if (!isUuid(filter.cursor)) throw invalidCursor(filter.cursor);
      // As the caller sees it: another cluster's job id is no cursor (nor a way to learn it exists).
      const [after] = (await this.dataSource.query(`SELECT 1 FROM jobs WHERE id = $1 AND ${scopeSql('cluster_id', '$2')}`, [
        filter.cursor,
        scopeParam(principal),
      ])) as unknown[];
      // Its job was removed (retention) since the page before: the place in the list is lost.
      if (!after) throw invalidCursor(filter.cursor);
      qb.andWhere('(j.date_created, j.id) < (SELECT c.date_created, c.id FROM jobs c WHERE c.id = :cursor)', { cursor: filter.cursor });
    }
    const limit = Math.min(Math.max(filter.limit ?? JOB_PAGE.default, 1), JOB_PAGE.max);
    // `limit`, not `take`: take pages in a second query meant for joins, which a flat list does not need.
    const rows = await qb
      .orderBy('j.date_created', 'DESC')
      .addOrderBy('j.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const jobs = rows.slice(0, limit);
    return { jobs: jobs.map((job) => jobView(job)), next_cursor: rows.length > limit ? jobs.at(-1)!.id : null };
  }

  /** How many jobs wait for a person (a manual step), for the portal's navigation. */
  async waitingCount(principal?: Principal): Promise<number> {
    const rows = (await this.dataSource.query(
      // From the running jobs (a waiting step's job stays `running`), not from every step ever
      // stored: the portal's navigation polls this, and job_steps grows with the history.
      `SELECT count(*)::int AS n FROM jobs j WHERE j.state = 'running' AND ($1::uuid[] IS NULL OR j.cluster_id = ANY($1))
         AND EXISTS (SELECT 1 FROM job_steps s WHERE s.job_id = j.id AND s.state = 'waiting')`,
      [principal?.clusterIds ?? null],
    )) as { n: number }[];
    return rows[0]?.n ?? 0;
  }

  /**
   * The job with its steps, links, activity and notifications. `created`: the job was stored a
   * moment ago by this trigger, so it has no children yet and owes notifications only if it was
   * skipped at once; two reads fewer on every trigger (20.5 statements each before, bench/profile-trigger.mjs).
   */
  async get(ref: string, principal?: Principal, created?: { skipped: boolean }): Promise<JobDetail> {
    const job = await this.visibleJob(ref, principal);
    const repo = this.dataSource.getRepository(JobEntity);
    // A trigger step that waits sets parent_job_id; chains and steps that do not wait leave
    // `triggered_by: job:<id>`. Either way it is the job that made this one.
    const parentId = job.parent_job_id ?? /^job:([0-9a-f-]{36})$/.exec(job.triggered_by)?.[1] ?? null;
    // The reads are independent: side by side on the pool, not one round trip after another.
    const [steps, parent, children, activity, notifications] = await Promise.all([
      this.dataSource.getRepository(JobStepEntity).find({ where: { job_id: job.id }, order: { position: 'ASC' } }),
      parentId ? repo.findOneBy({ id: parentId }) : null,
      created
        ? []
        : repo
            .createQueryBuilder('j')
            .where('(j.parent_job_id = :id OR j.triggered_by = :by)', { id: job.id, by: `job:${job.id}` })
            .orderBy('j.date_created', 'ASC')
            .take(100)
            .getMany(),
      activityOf(this.dataSource, job.id),
      created && !created.skipped ? [] : new NotificationStore(this.dataSource).forJob(job.id),
    ]);
    const visible = (j: JobEntity) => !principal || maySee(principal, j.cluster_id);
    return {
      ...jobView(job, steps),
      parent: parent && visible(parent) ? jobLink(parent) : null,
      children: children.filter(visible).map(jobLink),
      activity,
      notifications,
    };
  }

  /**
   * Cancels a job. One that no worker holds (scheduled, or waiting for a person) ends at once;
   * a running one is flagged, and its worker, on whichever node, stops the step's whole process
   * tree at its next heartbeat (about a second).
   */
  async cancel(ref: string, by: string, principal?: Principal): Promise<{ job: JobView; immediate: boolean }> {
    const job = await this.visibleJob(ref, principal);
    const id = job.id;
    if (FINAL_JOB_STATES.includes(job.state)) {
      throw new QuireError(ErrorCode.StateConflict, `job ${id} already ended '${job.state}'; nothing to cancel`);
    }
    const immediate = await this.store.write(async (manager, emit) => {
      const [row] = (await manager.query(`SELECT * FROM jobs WHERE id = $1 FOR UPDATE`, [id])) as JobEntity[];
      if (!row || FINAL_JOB_STATES.includes(row.state)) return true;
      await recordActivity(manager, id, by, 'cancelled');
      if (row.state === 'running' && row.lease_token) {
        await manager.query(`UPDATE jobs SET cancel_requested = true WHERE id = $1`, [id]);
        return false;
      }
      await this.store.endCancelled(manager, emit, row, `cancelled by ${by}`);
      return true;
    });
    if (!immediate) await this.pubsub.publish(CHANNELS.cancel, id).catch(() => undefined);
    return { job: await this.get(id), immediate };
  }

  /** Runs an `error` or `cancel` job again from its failed step; steps already done stay done. */
  async resume(ref: string, by: string, principal?: Principal): Promise<JobView> {
    const job = await this.visibleJob(ref, principal);
    const id = job.id;
    if (job.state !== 'error' && job.state !== 'cancel') {
      throw new QuireError(
        ErrorCode.StateConflict,
        `only a job that ended 'error' or 'cancel' can be resumed; job ${id} is '${job.state}'`,
      );
    }
    try {
      await this.store.write(async (manager, emit) => {
        const steps = (await manager.query(`SELECT id, position, state FROM job_steps WHERE job_id = $1 ORDER BY position`, [
          id,
        ])) as JobStepEntity[];
        const from =
          steps.find((s) => s.state === 'error' || s.state === 'cancel')?.position ?? steps.find((s) => s.state !== 'done')?.position;
        const reset =
          from === undefined
            ? []
            : await manager.query(
                `UPDATE job_steps SET state = 'pending', attempt = 0, interruptions = 0, error = NULL, date_started = NULL, date_finished = NULL, duration = NULL
                 WHERE job_id = $1 AND position >= $2 AND state = ANY($3) RETURNING id, name, position`,
                [id, from, stepStatesLeadingTo('pending').filter((s) => s !== 'running' && s !== 'retrying')],
              );
        const updated = await manager.query(
          `UPDATE jobs SET state = 'scheduled', run_at = now(), error = NULL, date_done = NULL, cancel_requested = false, date_scheduled = now()
           WHERE id = $1 AND state IN ('error', 'cancel') RETURNING id`,
          [id],
        );
        if (!firstRows(updated).length) throw new QuireError(ErrorCode.StateConflict, `job ${id} changed meanwhile; try again`);
        await recordActivity(manager, id, by, 'resumed');
        const again = (firstRows(reset) as JobStepEntity[]).sort((a, b) => a.position - b.position);
        await this.store.emitSteps(manager, emit, job, again, 'pending', { resumed_by: by });
        await emit({ type: 'job', ...targetOf(job), state: 'scheduled', data: { resumed_by: by } });
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new QuireError(
          ErrorCode.Conflict,
          `another job of book '${job.book_name}' is already live on this target; resume it after that one ends`,
        );
      }
      throw error;
    }
    await this.pubsub.publish(CHANNELS.jobs).catch(() => undefined);
    return this.get(id);
  }

  /** A person acknowledges (or rejects) a `manual` step that waits for them. */
  async resolveManual(
    ref: string,
    stepRef: string,
    outcome: 'ack' | 'reject',
    by: string,
    note?: string,
    principal?: Principal,
  ): Promise<JobView> {
    const job = await this.visibleJob(ref, principal);
    const id = job.id;
    await this.store.write(async (manager, emit) => {
      const [step] = (await manager.query(`SELECT * FROM job_steps WHERE job_id = $1 AND (name = $2 OR id::text = $2) FOR UPDATE`, [
        id,
        stepRef,
      ])) as JobStepEntity[];
      if (!step) throw notFound('step', stepRef);
      if (step.state !== 'waiting') {
        throw new QuireError(ErrorCode.StateConflict, `step '${step.name}' is '${step.state}', not waiting for a person`);
      }
      const resolution = { by, note, at: new Date().toISOString(), outcome };
      const message = `rejected by ${by}${note ? `: ${note}` : ''}`;
      const errorEntry = JSON.stringify([{ at: resolution.at, attempt: step.attempt, message }]);
      await manager.query(
        outcome === 'ack'
          ? `UPDATE job_steps SET state = 'done', resolution = $2, date_finished = now(), duration = EXTRACT(EPOCH FROM (now() - date_started)) WHERE id = $1`
          : `UPDATE job_steps SET state = 'error', resolution = $2, date_finished = now(), duration = EXTRACT(EPOCH FROM (now() - date_started)), error = $3, errors = errors || $4::jsonb WHERE id = $1`,
        outcome === 'ack' ? [step.id, JSON.stringify(resolution)] : [step.id, JSON.stringify(resolution), message, errorEntry],
      );
      await recordActivity(manager, id, by, outcome === 'ack' ? 'acknowledged' : 'rejected', { step: step.name, note });
      // The job goes back to the queue; a worker continues after this step.
      await manager.query(`UPDATE jobs SET state = 'scheduled', run_at = now() WHERE id = $1 AND state = 'running'`, [id]);
      await this.store.emitSteps(manager, emit, job, [step], outcome === 'ack' ? 'done' : 'error', { resolution });
      await emit({ type: 'job', ...targetOf(job), state: 'scheduled' });
    });
    await this.pubsub.publish(CHANNELS.jobs).catch(() => undefined);
    return this.get(id);
  }

  /** The job, if it exists and the caller may see it (an invisible job is reported missing). */
  private async visibleJob(ref: string, principal?: Principal): Promise<JobEntity> {
    const id = isUuid(ref) ? ref : await this.byPrefix(ref, principal);
    const job = await this.dataSource.getRepository(JobEntity).findOneBy({ id });
    if (!job || (principal && !maySee(principal, job.cluster_id))) throw notFound('job', ref);
    return job;
  }

  /**
   * The job whose id starts with `ref` (8 to 32 hex digits, dashes optional): the short ids the
   * portal and CLI print. A range on the primary key, so one index read; 409 when two match.
   */
  private async byPrefix(ref: string, principal?: Principal): Promise<string> {
    const hex = ref.toLowerCase().replace(/-/g, '');
    if (!/^[0-9a-f]{8,32}$/.test(hex)) throw notFound('job', ref);
    const uuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    const rows = (await this.dataSource.query(
      `SELECT id FROM jobs WHERE id BETWEEN $1 AND $2 AND ($3::uuid[] IS NULL OR cluster_id = ANY($3)) ORDER BY id LIMIT 3`,
      [uuid(hex.padEnd(32, '0')), uuid(hex.padEnd(32, 'f')), principal?.clusterIds ?? null],
    )) as { id: string }[];
    if (rows.length === 0) throw notFound('job', ref);
    if (rows.length > 1) {
      throw new QuireError(
        ErrorCode.Conflict,
        `job id '${ref}' is ambiguous: it starts ${rows.length > 2 ? 'at least 3 jobs' : 'two jobs'} (${rows.map((r) => r.id).join(', ')}); give more of it`,
        rows.map((r) => ({ field: 'id', message: 'matches', job_id: r.id })),
      );
    }
    return rows[0]!.id;
  }

  /** The state of a job: what a waiting `trigger` step polls. */
  async state(id: string): Promise<string> {
    return (await this.visibleJob(id)).state;
  }

  private async resolve(
    request: Omit<TriggerRequest, 'idempotencyKey'>,
  ): Promise<{ version: BookVersionEntity; target: DeploymentTarget }> {
    const target = await this.resolveTarget(request);
    return { version: await this.bookFor(request, target), target };
  }

  /** The record the action runs on, if the caller may see it. */
  private async resolveTarget(request: Omit<TriggerRequest, 'idempotencyKey'>): Promise<DeploymentTarget> {
    if (!request.principal && request.scopeClusters) return this.resolveScopedTarget(request, request.scopeClusters);
    const target =
      request.scope === 'deployment'
        ? await this.inventory.deploymentTarget(request.target)
        : request.scope === 'group'
          ? await this.inventory.groupTarget(request.target)
          : await this.inventory.clusterTarget(request.target);
    if (request.principal && !maySee(request.principal, target.cluster?.id)) throw notFound(request.scope, request.target);
    return target;
  }

  /**
   * The target of a job the engine makes for a scoped chain. Missing and out of scope read the
   * same, so a step's output (which the scoped token reads) does not tell which records exist.
   */
  private async resolveScopedTarget(request: Omit<TriggerRequest, 'idempotencyKey'>, scope: string[]): Promise<DeploymentTarget> {
    const refused = () =>
      new QuireError(
        ErrorCode.NotFound,
        `${request.scope} '${request.target}' not found among the clusters this job may act on (its root was triggered by a token limited to some clusters)`,
      );
    let target: DeploymentTarget;
    try {
      target = await this.resolveTarget({ ...request, scopeClusters: undefined });
    } catch (error) {
      throw error instanceof QuireError && error.code === ErrorCode.NotFound ? refused() : error;
    }
    if (!inScope(scope, target.cluster?.id)) throw refused();
    return target;
  }

  /** The current book for the action on this target, if the deployment's state allows it. */
  private async bookFor(request: Omit<TriggerRequest, 'idempotencyKey'>, target: DeploymentTarget): Promise<BookVersionEntity> {
    if (target.deployment) {
      const version = await this.books.forAction('deployment', request.action, target.deployment.kind);
      assertAllowedFrom(version, request.action, target.deployment);
      return version;
    }
    const record = target.group ?? target.cluster!;
    const kind = typeof record.vars?.kind === 'string' ? record.vars.kind : undefined;
    return this.books.forAction(request.scope, request.action, kind);
  }

  private async compile(
    version: BookVersionEntity,
    target: DeploymentTarget,
    params: unknown,
    triggeredBy: string,
    history?: ReadonlyMap<string, StepHistory>,
  ): Promise<CompiledJob> {
    return compileJob({
      bookVersion: version,
      target,
      params,
      triggeredBy,
      history: history ?? (await this.historyOf(version)),
      learnMinSamples: this.config.learnMinSamples,
      secretNames: this.secrets.names(),
      handlers: handlerRegistry,
    });
  }

  /**
   * What the book's steps learned so far (BOOKS.md section 7), by historyKey: each history with
   * the samples recorded since it was last folded (JobStore.foldLessons) folded in, oldest first.
   */
  private async historyOf(version: BookVersionEntity): Promise<Map<string, StepHistory>> {
    const rows = (await this.dataSource.query(
      `SELECT step_name, estimate_key, outcome, h.samples, h.mean, h.recent, p.pending
       FROM (SELECT * FROM step_duration_history WHERE book_name = $1) h
       FULL JOIN (SELECT step_name, estimate_key, outcome, array_agg(value ORDER BY id) AS pending
                  FROM step_duration_samples WHERE book_name = $1 GROUP BY 1, 2, 3) p USING (step_name, estimate_key, outcome)`,
      [version.name],
    )) as {
      step_name: string;
      estimate_key: string;
      outcome: Outcome;
      samples: number | null;
      mean: number | null;
      recent: number[] | null;
      pending: number[] | null;
    }[];
    const history = new Map<string, StepHistory>();
    for (const r of rows) {
      const key = historyKey(r.step_name, r.estimate_key);
      const byOutcome = history.get(key) ?? {};
      const folded = r.samples === null ? undefined : { samples: r.samples, mean: r.mean!, recent: r.recent! };
      byOutcome[r.outcome] = (r.pending ?? []).reduce<DurationHistory | undefined>((h, value) => foldDuration(h, value), folded);
      history.set(key, byOutcome);
    }
    return history;
  }

  private async storeJob(compiled: CompiledJob, request: TriggerRequest, requestHash: string): Promise<TriggerResult> {
    // Held until the job is stored: a deployment deleted meanwhile is either gone before this
    // (the trigger answers 404) or waits, then sees this job and refuses (409). Locked with the
    // transaction's BEGIN; the steps and the activity go with its COMMIT (JobStore.write).
    const lockDeployment = compiled.deployment_id ? [{ text: `SELECT 1 FROM deployments WHERE id = $1 FOR SHARE`, values: [compiled.deployment_id] }] : [];
    const outcome = await this.store.write(
      async (manager, emit, { opened: [deployment], later }) => {
        if (compiled.deployment_id && !deployment?.length) throw notFound('deployment', request.target);
        const inserted = await manager
          .createQueryBuilder()
          .insert()
          .into(JobEntity)
          .values(jobRow(compiled, request, requestHash, new Date()) as never)
          .orIgnore()
          .returning(['id'])
          .execute();
        if (inserted.raw.length === 0) return { existing: await this.findDuplicate(manager, compiled, request, requestHash) };

        const [text, values] = manager.createQueryBuilder().insert().into(JobStepEntity).values(stepRows(compiled) as never).getQueryAndParameters();
        later({ text, values });
        later(activityStatement(compiled.id, request.triggeredBy, 'triggered'));
        // Its progress is given: nothing reads the steps before they are inserted with the commit.
        await emit(createdEvent(compiled));
        if (compiled.skip_reason !== null) await oweNotifications(manager, compiled, 'done');
        return { existing: null };
      },
      { opening: lockDeployment },
    );
    // Read after the transaction, from the committed rows as any other reader sees them.
    if (outcome.existing) return { job: await this.get(outcome.existing, request.principal), created: false };
    metrics.jobsCreated.inc({ book: compiled.book_name });
    return { job: await this.get(compiled.id, undefined, { skipped: compiled.skip_reason !== null }), created: true };
  }

  /** The insert hit a unique index: the same Idempotency-Key, or `unique` found a live job. Returns its id. */
  private async findDuplicate(
    manager: EntityManager,
    compiled: CompiledJob,
    request: TriggerRequest,
    requestHash: string,
  ): Promise<string> {
    const repo = manager.getRepository(JobEntity);
    if (request.idempotencyKey) {
      const byKey = await repo.findOneBy({ idempotency_scope: idempotencyScope(request), idempotency_key: request.idempotencyKey });
      if (byKey) {
        if (byKey.request_hash !== requestHash) throw idempotencyConflict(request.idempotencyKey);
        return byKey.id;
      }
    }
    const live = await repo.findOneBy({ dedupe_key: compiled.dedupe_key!, state: In(['draft', 'scheduled', 'running']) });
    if (!live) throw new QuireError(ErrorCode.Conflict, 'the job could not be stored: a concurrent change; try again');
    // `unique`: the same request gets the live job; other params are refused, never merged
    // into a job that will run with params the caller did not ask for (BOOKS.md section 3).
    if (contentHash(live.params) !== contentHash(compiled.params)) {
      const params = JSON.stringify(live.params);
      throw new QuireError(
        ErrorCode.Conflict,
        `job ${live.id} of book '${live.book_name}' is already ${live.state} on this target with other params (${params}); ` +
          'wait for it to end or cancel it, then trigger again',
        [{ field: 'params', message: `differs from the live job's params ${params}`, job_id: live.id, params: live.params }],
      );
    }
    return live.id;
  }

  private async replayIdempotent(request: TriggerRequest, key: string, requestHash: string): Promise<JobView | null> {
    const job = await this.dataSource
      .getRepository(JobEntity)
      .findOneBy({ idempotency_scope: idempotencyScope(request), idempotency_key: key });
    if (!job) return null;
    if (job.request_hash !== requestHash) throw idempotencyConflict(key);
    // read as the caller: a key is never a way around what the token may see
    return this.get(job.id, request.principal);
  }
}

function firstRows(result: unknown): unknown[] {
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) ? (result[0] as unknown[]) : (result as unknown[]);
}

/** `allowed_from`: the deployment's state must be one the book accepts (409 naming it). */
function assertAllowedFrom(version: BookVersionEntity, action: string, deployment: { name: string; state: string }): void {
  const allowed = version.definition.allowed_from;
  if (allowed && !allowed.includes(deployment.state)) {
    throw new QuireError(
      ErrorCode.StateConflict,
      `action '${action}' is not allowed on deployment '${deployment.name}' in state '${deployment.state}' (allowed from: ${allowed.join(', ')})`,
      [{ field: 'state', message: `current state '${deployment.state}'`, value: deployment.state }],
    );
  }
}

/** The jobs row of a compiled job, as a trigger stores it. */
function jobRow(compiled: CompiledJob, request: TriggerRequest, requestHash: string, now: Date) {
  const skipped = compiled.skip_reason !== null;
  const { steps: _steps, eta_s: _eta, eta_basis: _basis, eta_runs: _runs, ...jobFields } = compiled;
  return {
    ...jobFields,
    state: skipped ? 'done' : 'scheduled',
    idempotency_key: request.idempotencyKey ?? null,
    idempotency_scope: request.idempotencyKey ? idempotencyScope(request) : null,
    request_hash: requestHash,
    parent_job_id: request.parentJobId ?? null,
    scope_clusters: scopeOf(request),
    date_scheduled: now,
    run_at: request.delaySeconds ? new Date(now.getTime() + request.delaySeconds * 1000) : now,
    date_done: skipped ? now : null,
  };
}

function stepRows(compiled: CompiledJob) {
  return compiled.steps.map((s) => ({ ...s, job_id: compiled.id }));
}

/** The event of a job just stored. A job skipped here ends at once: its event is its final outcome, and notifies like one. */
function createdEvent(compiled: CompiledJob) {
  const skipped = compiled.skip_reason !== null;
  const { steps, eta_s, eta_basis, eta_runs } = compiled;
  return {
    type: 'job' as const,
    ...targetOf(compiled),
    state: skipped ? ('done' as const) : ('scheduled' as const),
    progress: { ...progressOf(steps.map((s) => ({ ...s, date_started: null }))), eta_s, eta_basis, eta_runs },
    data: skipped ? { ...outcomeData(compiled), skip_reason: compiled.skip_reason } : { action: compiled.action, book: compiled.book_name },
  };
}

function invalidCursor(cursor: string): QuireError {
  return new QuireError(
    ErrorCode.InvalidInput,
    `invalid cursor '${cursor}': pass the next_cursor of the page before (its job may have been removed since)`,
    [{ field: 'cursor', message: 'not a cursor of a job that exists', value: cursor }],
  );
}

function idempotencyConflict(key: string): QuireError {
  return new QuireError(ErrorCode.IdempotencyConflict, `Idempotency-Key '${key}' was already used for a different request`);
}

/**
 * What makes two triggers the same request: the resolved target (by id, however it was
 * named) and the params as canonical JSON (key order does not count).
 */
function hashRequest(request: TriggerRequest, target: DeploymentTarget): string {
  const targetId = (target.deployment ?? target.group ?? target.cluster)?.id ?? null;
  return contentHash([request.scope, targetId, request.action, request.params ?? {}]);
}

/** The clusters the new job and everything it causes stay inside: the caller's, or its root's. */
function scopeOf(request: TriggerRequest): ClusterScope {
  return request.principal ? request.principal.clusterIds : (request.scopeClusters ?? null);
}

/** Whose key it is: each API token has its own keys; the engine's own triggers share one space. */
function idempotencyScope(request: TriggerRequest): string {
  return request.principal ? `token:${request.principal.tokenId}` : 'engine';
}

/** Step fields rendered for a dry run; those that need run-time values say so instead. */
function renderForPlan(spec: CompiledJob['steps'][number]['spec'], context: Parameters<typeof templates.render>[1]) {
  const rendered: Record<string, unknown> = {};
  for (const field of runTimeFields(spec)) {
    const key = field.path.join('.');
    // A plan holds no secret values: rendering without them would show a false result (a `when`
    // testing that a secret is set reads 'false' where the job will run the step).
    if (/\bsecrets\./.test(field.source)) {
      rendered[key] = `${field.source}  (rendered at run time: reads secrets)`;
      continue;
    }
    try {
      rendered[key] = templates.render(field.source, context, field.mode);
    } catch (error) {
      rendered[key] = `${field.source}  (rendered at run time: ${(error as Error).message})`;
    }
  }
  return rendered;
}
