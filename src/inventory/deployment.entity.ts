import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn, UpdatedAt } from '../db/columns.js';
import { ClusterEntity } from './cluster.entity.js';
import { GroupEntity } from './group.entity.js';

@Entity('deployments')
// `GET /api/deployments?cluster=` and `?group=` page in name order (migration 1765910000000).
@Index('idx_deployments_cluster_name', ['cluster_id', 'name'])
@Index('idx_deployments_group_name', ['group_id', 'name'])
export class DeploymentEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text', unique: true }) name!: string;
  @Index('idx_deployments_kind') @Column({ type: 'text' }) kind!: string;
  @JsonColumn({ default: {} }) vars!: Record<string, unknown>;
  /** lifecycle state: `draft` when created, then whatever `sets_state` of a finished job says */
  @Column({ type: 'text', default: 'draft' }) state!: string;
  @Column({ type: 'text', nullable: true }) last_error!: string | null;
  @Column({ type: 'uuid', nullable: true }) group_id!: string | null;
  @ManyToOne(() => GroupEntity, { onDelete: 'RESTRICT', nullable: true })
  @JoinColumn({ name: 'group_id' })
  group?: GroupEntity | null;
  // Denormalised from the group so events can be routed to the cluster room without a join.
  @Column({ type: 'uuid', nullable: true }) cluster_id!: string | null;
  @ManyToOne(() => ClusterEntity, { onDelete: 'RESTRICT', nullable: true })
  @JoinColumn({ name: 'cluster_id' })
  cluster?: ClusterEntity | null;
  @CreatedAt() date_created!: Date;
  @UpdatedAt() date_updated!: Date;
}
