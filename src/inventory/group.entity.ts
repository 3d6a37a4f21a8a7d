import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn, UpdatedAt } from '../db/columns.js';
import { ClusterEntity } from './cluster.entity.js';

// Group names are unique within their cluster (BOOKS.md section 1).
@Entity('deployment_groups')
@Index('uq_deployment_groups_cluster_name', ['cluster_id', 'name'], { unique: true })
export class GroupEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'uuid' }) cluster_id!: string;
  @ManyToOne(() => ClusterEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'cluster_id' })
  cluster?: ClusterEntity;
  @Column({ type: 'text' }) name!: string;
  @JsonColumn({ default: {} }) vars!: Record<string, unknown>;
  @CreatedAt() date_created!: Date;
  @UpdatedAt() date_updated!: Date;
}
