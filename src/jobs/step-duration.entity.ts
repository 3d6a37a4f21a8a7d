import { Column, Entity, PrimaryColumn } from 'typeorm';
import { UpdatedAt } from '../db/columns.js';

// Durations of (book, step) runs that ended done, folded into a running mean plus a bounded
// window of recent samples for the 90th percentile (BOOKS.md section 7).
@Entity('step_duration_history')
export class StepDurationEntity {
  @PrimaryColumn({ type: 'text' }) book_name!: string;
  @PrimaryColumn({ type: 'text' }) step_name!: string;
  @Column({ type: 'integer', default: 0 }) samples!: number;
  @Column({ type: 'double precision', default: 0 }) mean!: number;
  @Column({ type: 'double precision', array: true, default: () => "'{}'" }) recent!: number[];
  @UpdatedAt() date_updated!: Date;
}
