import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const ACTIVITY_KINDS = ['triggered', 'cancelled', 'resumed', 'acknowledged', 'rejected'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

// Who did what to a job, and when: written in the same transaction as the change it records,
// so the record and the job never disagree. Steps keep their own `resolution` too; this is the
// job's timeline, read in one query.
@Entity('job_activity')
@Index('idx_job_activity_job', ['job_id', 'at'])
export class JobActivityEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column({ type: 'uuid' }) job_id!: string;
  @Column({ type: 'timestamptz', default: () => 'now()' }) at!: Date;
  /** the API token's name, or what the engine acted for (`schedule:<id>`, `job:<id>`) */
  @Column({ type: 'text' }) by!: string;
  @Column({ type: 'text' }) what!: ActivityKind;
  @Column({ type: 'text', nullable: true }) step!: string | null;
  @Column({ type: 'text', nullable: true }) note!: string | null;
}
