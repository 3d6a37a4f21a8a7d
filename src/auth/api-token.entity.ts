import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, NullableDate } from '../db/columns.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

// Only a token's sha256 is stored: a leaked database does not leak working tokens.
@Entity('api_tokens')
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) role!: Role;
  @Column({ type: 'text', unique: true }) token_hash!: string;
  /** ids of the clusters this token may see and act on; null: every cluster */
  @Column({ type: 'uuid', array: true, nullable: true }) cluster_ids!: string[] | null;
  /** the first characters of the token, to tell tokens apart in listings */
  @Column({ type: 'text' }) prefix!: string;
  @CreatedAt() date_created!: Date;
  @NullableDate() last_used_at!: Date | null;
  @NullableDate() revoked_at!: Date | null;
  /** past it the token is refused everywhere (REST, socket.io handshake, open connections); null: never */
  @NullableDate() expires_at!: Date | null;
}
