import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { JsonColumn } from '../db/columns.js';

// One row per state change, progress change and output chunk. `seq` orders everything, and a
// client that reconnects asks for what came after the last seq it saw.
@Entity('deploy_events')
@Index('idx_deploy_events_job', ['job_id', 'seq'])
@Index('idx_deploy_events_deployment', ['deployment_id', 'seq'])
@Index('idx_deploy_events_at', ['at'])
@Index('idx_deploy_events_cluster', ['cluster_id', 'seq'])
export class DeployEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) type!: string;
  @Column({ type: 'uuid', nullable: true }) job_id!: string | null;
  @Column({ type: 'uuid', nullable: true }) step_id!: string | null;
  @Column({ type: 'uuid', nullable: true }) deployment_id!: string | null;
  @Column({ type: 'uuid', nullable: true }) group_id!: string | null;
  @Column({ type: 'uuid', nullable: true }) cluster_id!: string | null;
  @JsonColumn({ default: {} }) payload!: Record<string, unknown>;
  @Column({ type: 'timestamptz', default: () => 'now()' }) at!: Date;
}
