import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { JsonColumn, NullableDate } from '../db/columns.js';
import type { JobEntity } from './job.entity.js';
import type { StepState } from './job-state.js';
import type { BookStep, OnFailure, RetryPolicy } from '../books/book.types.js';

export type { RetryPolicy };

export interface StepAttemptError {
  at: string;
  attempt: number;
  message: string;
  trace?: string;
  exit_code?: number;
  status?: number;
}

@Entity('job_steps')
@Index('uq_job_steps_job_position', ['job_id', 'position'], { unique: true })
export class JobStepEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'uuid' }) job_id!: string;
  @ManyToOne('JobEntity', 'steps', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: JobEntity;
  @Column({ type: 'integer' }) position!: number;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  /** the step as the book wrote it, defaults applied, templates not yet rendered */
  @JsonColumn() spec!: BookStep;
  /** the frozen `serialize` result, `step.data` in templates */
  @JsonColumn({ default: {} }) data!: Record<string, unknown>;
  @Column({ type: 'text', default: 'pending' }) state!: StepState;
  /** attempts started, shown to people */
  @Column({ type: 'integer', default: 0 }) attempt!: number;
  /** attempts cut short by a lost worker or a shutdown: they do not use up `max_attempts` */
  @Column({ type: 'integer', default: 0 }) interruptions!: number;
  @JsonColumn() retry!: RetryPolicy;
  @Column({ type: 'text', default: 'fail' }) on_failure!: OnFailure;
  /** seconds; the learned expected cost (outcomes and retries weighed) when the history had enough runs */
  @Column({ type: 'double precision' }) estimated_duration!: number;
  @Column({ type: 'text', default: 'book' }) estimate_source!: 'book' | 'history';
  /** runs the learned estimate comes from (0: the book's) */
  @Column({ type: 'integer', default: 0 }) estimate_runs!: number;
  /** the learned 90th percentile of one run: where a running step past its estimate is expected to end */
  @Column({ type: 'double precision', nullable: true }) estimate_p90!: number | null;
  /** the history this step learns from and teaches: its `estimate_by` values as JSON, '' without */
  @Column({ type: 'text', default: '' }) estimate_key!: string;
  /** how likely the step is to run: 0 or 1 when its `when` was decided at creation, else learned */
  @Column({ type: 'double precision', default: 1 }) run_chance!: number;
  /** seconds: max(book estimate, learned p99) × estimated_duration_over_stop */
  @Column({ type: 'double precision' }) timeout!: number;
  @NullableDate() date_started!: Date | null;
  @NullableDate() date_finished!: Date | null;
  @Column({ type: 'double precision', nullable: true }) duration!: number | null;
  /** the stored output: its head and tail with a truncation marker between when it was long */
  @Column({ type: 'text', default: '' }) output!: string;
  @Column({ type: 'bigint', default: 0 }) output_bytes!: string;
  /** `::output key=value` lines, HTTP bodies and handler results: `steps.<name>.output` */
  @JsonColumn({ default: {} }) outputs!: Record<string, unknown>;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @JsonColumn({ default: [] }) errors!: StepAttemptError[];
  /** who acknowledged or rejected a manual step, and their note */
  @JsonColumn({ nullable: true }) resolution!: { by: string; note?: string; at: string; outcome: 'ack' | 'reject' } | null;
}
