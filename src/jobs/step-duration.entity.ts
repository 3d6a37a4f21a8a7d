import { Column, Entity, PrimaryColumn } from 'typeorm';
import { UpdatedAt } from '../db/columns.js';
import type { Outcome } from './estimates.js';

// What finished attempts of a step taught (BOOKS.md section 7), one row per (book, step,
// estimate key, outcome): a running mean plus a bounded window of recent values for means and
// percentiles. `estimate_key` is '' unless the step names `estimate_by`; `outcome` is done,
// failed, ignored, retried (seconds), or ran (1 or 0 per job: the step ran, or its when skipped it).
@Entity('step_duration_history')
export class StepDurationEntity {
  @PrimaryColumn({ type: 'text' }) book_name!: string;
  @PrimaryColumn({ type: 'text' }) step_name!: string;
  @PrimaryColumn({ type: 'text', default: '' }) estimate_key!: string;
  @PrimaryColumn({ type: 'text', default: 'done' }) outcome!: Outcome;
  @Column({ type: 'integer', default: 0 }) samples!: number;
  @Column({ type: 'double precision', default: 0 }) mean!: number;
  @Column({ type: 'double precision', array: true, default: () => "'{}'" }) recent!: number[];
  @UpdatedAt() date_updated!: Date;
}
