import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn, UpdatedAt } from '../db/columns.js';

@Entity('clusters')
export class ClusterEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text', unique: true }) name!: string;
  @JsonColumn({ default: {} }) vars!: Record<string, unknown>;
  @CreatedAt() date_created!: Date;
  @UpdatedAt() date_updated!: Date;
}
