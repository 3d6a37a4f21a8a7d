import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn, NullableDate } from '../db/columns.js';
import type { ScheduleEntry } from '../books/book.types.js';

// One row per (book, target, entry of the book's `schedules`). The override and `enabled`
// are the operator's and survive reloading the book.
@Entity('schedules')
@Index('uq_schedules_book_target_entry', ['book_name', 'target_id', 'entry_index'], { unique: true })
export class ScheduleEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) book_name!: string;
  @Column({ type: 'text', default: 'deployment' }) scope!: string;
  /** the deployment, group or cluster the schedule fires on */
  @Column({ type: 'uuid' }) target_id!: string;
  @Column({ type: 'integer' }) entry_index!: number;
  @JsonColumn() spec!: ScheduleEntry;
  @JsonColumn({ nullable: true }) override!: ScheduleEntry | null;
  @Column({ type: 'boolean', default: true }) enabled!: boolean;
  @NullableDate() next_run_at!: Date | null;
  @NullableDate() last_run_at!: Date | null;
  @Column({ type: 'uuid', nullable: true }) last_job_id!: string | null;
  /** `created`, `existing` (run-now found a live job), `refused` (allowed_from, unique, params...) or `skipped` (a missed slot) */
  @Column({ type: 'text', nullable: true }) last_result!: string | null;
  @Column({ type: 'text', nullable: true }) last_error!: string | null;
  @CreatedAt() date_created!: Date;
}
