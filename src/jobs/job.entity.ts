import { Column, Entity, Index, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn, NullableDate } from '../db/columns.js';
import { BookVersionEntity } from '../books/book-version.entity.js';
import type { JobState } from './job-state.js';
import type { JobStepEntity } from './job-step.entity.js';
import type { ChainTrigger, NotifyChannel } from '../books/book.types.js';
import type { RenderContext } from '../templates/template.types.js';

/** A chain link that made no job, kept on the job that owed it. */
export interface ChainError {
  link: 'on_success' | 'on_failure';
  index: number;
  action: string;
  error: string;
  at: string;
}

// A job is a frozen snapshot of a book version compiled for one target: nothing here is
// re-read from the book at run time (STYLE.md habit 4).
@Entity('jobs')
// The claim counts the running jobs of each channel (migration 1765930000000).
@Index('idx_jobs_running', ['channel'], { where: "state = 'running' AND lease_token IS NOT NULL" })
@Index('idx_jobs_deployment', ['deployment_id', 'date_created'])
// `unique: deployment` and Idempotency-Key: the database, not a read-then-write, says "one".
@Index('uq_jobs_dedupe_key', ['dedupe_key'], { unique: true, where: `dedupe_key IS NOT NULL AND state IN ('draft', 'scheduled', 'running')` })
// A key is unique per caller (idempotency_scope: the API token), not across everyone's keys.
@Index('uq_jobs_idempotency_scope_key', ['idempotency_scope', 'idempotency_key'], { unique: true, where: 'idempotency_key IS NOT NULL' })
// Every node's sweep looks for ended jobs whose chain links are still owed: a handful at most.
@Index('idx_jobs_chain_pending', ['date_done'], { where: 'chain_pending' })
// The retention sweep (engine/job-cleaner.ts) walks finished jobs by when they ended.
@Index('idx_jobs_date_done', ['date_done'], { where: 'date_done IS NOT NULL' })
// A job's children (trigger steps that wait; chains and trigger steps that do not) and its
// deployment's last state-setting job, each one indexed read (issue 10).
@Index('idx_jobs_parent', ['parent_job_id'], { where: 'parent_job_id IS NOT NULL' })
@Index('idx_jobs_triggered_by_job', ['triggered_by'], { where: "triggered_by LIKE 'job:%'" })
@Index('idx_jobs_state_setter', ['deployment_id', 'date_done'], { where: "state = 'done' AND sets_state IS NOT NULL" })
// The claim's queue order and lock tests over the live jobs only (migration 1765800000000);
// the GIN index is beyond what the entity can describe, so the schema check leaves it alone.
@Index('idx_jobs_queue', ['priority', 'date_created', 'id'], { where: "state = 'scheduled'" })
@Index('idx_jobs_live_locks', { synchronize: false })
// `GET /api/jobs` pages newest first by keyset (migration 1765910000000): all jobs, or one state.
@Index('idx_jobs_created', ['date_created', 'id'])
@Index('idx_jobs_state_created', ['state', 'date_created', 'id'])
export class JobEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'uuid' }) book_version_id!: string;
  @ManyToOne(() => BookVersionEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'book_version_id' })
  book_version?: BookVersionEntity;
  @Column({ type: 'text' }) book_name!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text' }) action!: string;
  @Column({ type: 'text', default: 'deployment' }) scope!: string;
  @Column({ type: 'uuid', nullable: true }) deployment_id!: string | null;
  @Column({ type: 'uuid', nullable: true }) group_id!: string | null;
  @Column({ type: 'uuid', nullable: true }) cluster_id!: string | null;
  @Column({ type: 'text' }) state!: JobState;
  @Column({ type: 'smallint', default: 2 }) priority!: number;
  @Column({ type: 'text', default: 'default' }) channel!: string;
  /** every lock the job holds while running: its target's, plus the book's `lock` */
  @Column({ type: 'text', array: true, default: () => "'{}'" }) locks!: string[];
  @JsonColumn({ default: {} }) params!: Record<string, unknown>;
  /** the render context frozen at creation: deployment, group, cluster, params, job, book */
  @JsonColumn() context!: RenderContext;
  @Column({ type: 'text' }) triggered_by!: string;
  @Column({ type: 'text', nullable: true }) idempotency_key!: string | null;
  /** who used the key: `token:<api token id>`, or `engine`; set with the key */
  @Column({ type: 'text', nullable: true }) idempotency_scope!: string | null;
  /** sha256 of the triggering request, so a reused Idempotency-Key with other input is refused */
  @Column({ type: 'text', nullable: true }) request_hash!: string | null;
  @Column({ type: 'text', nullable: true }) dedupe_key!: string | null;
  @Column({ type: 'uuid', nullable: true }) parent_job_id!: string | null;
  /** the clusters of whoever triggered the root of this job's chain (null: unscoped); its children and links stay inside them */
  @Column({ type: 'uuid', array: true, nullable: true }) scope_clusters!: string[] | null;
  /** on_success/on_failure links refused (a target outside the scope, a missing book): `{ link, index, action, error, at }` */
  @JsonColumn({ default: [] }) chain_errors!: ChainError[];
  @Column({ type: 'text', nullable: true }) sets_state!: string | null;
  @JsonColumn({ default: [] }) on_success!: ChainTrigger[];
  @JsonColumn({ default: [] }) on_failure!: ChainTrigger[];
  @Column({ type: 'boolean', default: false }) should_notify!: boolean;
  @JsonColumn({ default: [] }) notify!: NotifyChannel[];
  /** why the job was skipped as a whole (`when` rendered falsy) */
  @Column({ type: 'text', nullable: true }) skip_reason!: string | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  /** not before this time may a worker claim it (retry backoff, chained `delay`) */
  @Column({ type: 'timestamptz', default: () => 'now()' }) run_at!: Date;
  @Column({ type: 'uuid', nullable: true }) lease_token!: string | null;
  @NullableDate() lease_expires_at!: Date | null;
  @Column({ type: 'text', nullable: true }) locked_by!: string | null;
  @Column({ type: 'boolean', default: false }) cancel_requested!: boolean;
  /** its on_success/on_failure links are still to be triggered (see JobRunner.triggerChain) */
  @Column({ type: 'boolean', default: false }) chain_pending!: boolean;
  @CreatedAt() date_created!: Date;
  @NullableDate() date_scheduled!: Date | null;
  @NullableDate() date_running!: Date | null;
  @NullableDate() date_done!: Date | null;
  @OneToMany('JobStepEntity', 'job') steps?: JobStepEntity[];
}
