import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn } from '../db/columns.js';
import type { Book } from './book.types.js';

// Every load stores a book whose content changed as a new version; jobs point at the exact
// version they were compiled from, so old versions are never deleted while jobs refer to them.
@Entity('book_versions')
@Index('uq_book_versions_name_hash', ['name', 'hash'], { unique: true })
@Index('uq_book_versions_current_name', ['name'], { unique: true, where: 'is_current' })
@Index('idx_book_versions_kind_action', ['kind', 'action'])
export class BookVersionEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text' }) action!: string;
  @Column({ type: 'text', default: 'deployment' }) scope!: string;
  /** sha256 of the parsed book's canonical JSON */
  @Column({ type: 'text' }) hash!: string;
  /** the author's own version string, shown beside the hash */
  @Column({ type: 'text', nullable: true }) author_version!: string | null;
  @Column({ type: 'text' }) file!: string;
  @Column({ type: 'text' }) source!: string;
  @JsonColumn() definition!: Book;
  @Column({ type: 'boolean', default: true }) is_current!: boolean;
  @CreatedAt() date_created!: Date;
}
