// Column helpers shared by every entity, so timestamps and JSON columns look the same everywhere.
import { CreateDateColumn, UpdateDateColumn, Column, type ColumnOptions } from 'typeorm';

export const CreatedAt = () => CreateDateColumn({ type: 'timestamptz' });
export const UpdatedAt = () => UpdateDateColumn({ type: 'timestamptz' });
export const JsonColumn = (options: ColumnOptions = {}) => Column({ type: 'jsonb', ...options });
export const NullableDate = () => Column({ type: 'timestamptz', nullable: true });
