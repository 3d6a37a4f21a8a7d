import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CreatedAt } from '../db/columns.js';

// One row per slot a schedule fired, whichever node fired it: the record that each (schedule,
// fire time) ran once. The job itself is made unique by its Idempotency-Key in the engine's
// scope (`schedule:<id>@<fire time>`), inserted in the job's own transaction.
@Entity('schedule_firings')
export class ScheduleFiringEntity {
  @PrimaryColumn({ type: 'uuid' }) schedule_id!: string;
  @PrimaryColumn({ type: 'timestamptz' }) fire_at!: Date;
  @Column({ type: 'uuid', nullable: true }) job_id!: string | null;
  /** `created`, or `refused` with the error (allowed_from, unique, a missing parameter...) */
  @Column({ type: 'text' }) result!: string;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @CreatedAt() date_created!: Date;
}
