import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Outcome } from './estimates.js';

// What one finished attempt taught, written in the commit that ends it and folded into
// step_duration_history in batches (JobStore.foldLessons). Every job of a book step updated the
// same history rows: each job's end waited for the previous end's row lock until its commit
// (11 ms of a 12 ms end statement at 8 concurrent jobs, bench/profile-job.mjs, issue 9). An
// insert waits for nobody. Readers merge the samples not yet folded (JobsService.historyOf), so
// a lesson counts from its commit on, as before.
@Entity('step_duration_samples')
@Index('idx_step_duration_samples_book', ['book_name', 'id'])
export class StepDurationSampleEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) book_name!: string;
  @Column({ type: 'text' }) step_name!: string;
  @Column({ type: 'text', default: '' }) estimate_key!: string;
  @Column({ type: 'text' }) outcome!: Outcome;
  @Column({ type: 'double precision' }) value!: number;
}
