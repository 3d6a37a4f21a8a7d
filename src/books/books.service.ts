import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { DataSource, In, Not } from 'typeorm';
import { BookVersionEntity } from './book-version.entity.js';
import type { Book, BookProblem } from './book.types.js';
import { BookValidationPool, type ApiValidation } from './book-validation.pool.js';
import { InventoryService } from '../inventory/inventory.service.js';
import { ErrorCode, QuireError, notFound } from '../common/errors.js';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';
import { handlerRegistry } from '../steps/demo.handlers.js';

export interface ReloadResult {
  books: number;
  created: string[];
  unchanged: string[];
  retired: string[];
  problems: BookProblem[];
  inventory?: { created: number; updated: number };
}

export function validationContext() {
  return { handlers: handlerRegistry.handlerNames(), serializeHandlers: handlerRegistry.serializerNames() };
}

// Books live as files; the database keeps every version that was ever loaded, by content hash,
// and marks the current one per name. Jobs point at versions, so editing a book never changes
// a job already created.
@Injectable()
export class BooksService implements OnApplicationShutdown {
  private readonly logger = new Logger('Books');
  private readonly validation = new BookValidationPool();

  constructor(
    private readonly dataSource: DataSource,
    private readonly inventory: InventoryService,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
  ) {}

  private get versions() {
    return this.dataSource.getRepository(BookVersionEntity);
  }

  /** Loads the books directory: valid books become current versions, broken ones are reported and left as they were. */
  async reload(): Promise<ReloadResult> {
    const dir = this.config.booksDir;
    // Imported here, not at the top: the parser and validators (yaml and the book schema among
    // them) are for the node that loads books; a `quire worker` never does (issue 9).
    const { loadBooksDir } = await import('./book-loader.js');
    const loaded = await loadBooksDir(dir, validationContext());
    const result: ReloadResult = { books: loaded.books.length, created: [], unchanged: [], retired: [], problems: loaded.problems };
    const brokenFiles = new Set(loaded.problems.filter((p) => p.severity === 'error').map((p) => p.file));
    await this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(BookVersionEntity);
      for (const entry of loaded.books) {
        const source = await readFile(entry.file, 'utf8');
        const file = relative(dir, entry.file) || entry.file;
        const existing = await repo.findOneBy({ name: entry.book.name, hash: entry.hash });
        if (existing?.is_current) {
          result.unchanged.push(entry.book.name);
          continue;
        }
        await repo.update({ name: entry.book.name, is_current: true }, { is_current: false });
        if (existing) await repo.update({ id: existing.id }, { is_current: true, file, source });
        else await repo.insert(this.versionRow(entry.book, entry.hash, file, source) as never);
        result.created.push(entry.book.name);
      }
      // A book whose file is gone is retired; one whose file is broken keeps its last good version.
      const present = loaded.books.map((b) => b.book.name);
      const stale = await repo.find({ where: { is_current: true, name: Not(In(present.length ? present : [''])) } });
      for (const version of stale) {
        if (brokenFiles.has(`${dir}/${version.file}`)) continue;
        await repo.update({ id: version.id }, { is_current: false });
        result.retired.push(version.name);
      }
    });
    if (loaded.inventory) result.inventory = await this.inventory.applyInventory(loaded.inventory);
    return result;
  }

  private versionRow(book: Book, hash: string, file: string, source: string): Partial<BookVersionEntity> {
    return {
      name: book.name,
      kind: book.kind,
      action: book.action,
      scope: book.scope ?? 'deployment',
      hash,
      author_version: book.version ?? null,
      file,
      source,
      definition: book,
      is_current: true,
    };
  }

  list(): Promise<BookVersionEntity[]> {
    return this.versions.find({ where: { is_current: true }, order: { name: 'ASC' } });
  }

  async get(name: string): Promise<BookVersionEntity> {
    const found = await this.versions.findOneBy({ name, is_current: true });
    if (!found) throw notFound('book', name);
    return found;
  }

  history(name: string): Promise<BookVersionEntity[]> {
    return this.versions.find({
      where: { name },
      order: { date_created: 'DESC' },
      select: { id: true, hash: true, author_version: true, is_current: true, date_created: true, file: true },
    });
  }

  /** The current book implementing `action` for a target of this scope and kind. */
  async forAction(scope: 'deployment' | 'group' | 'cluster', action: string, kind?: string): Promise<BookVersionEntity> {
    const candidates = await this.versions.find({ where: { is_current: true, action, scope, ...(kind ? { kind } : {}) } });
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length === 0) {
      const what = kind ? `${scope}s of kind '${kind}'` : `${scope}s`;
      throw new QuireError(ErrorCode.NotFound, `no book implements action '${action}' for ${what}`);
    }
    throw new QuireError(
      ErrorCode.Conflict,
      `several books implement '${action}' for ${scope}s (${candidates.map((c) => c.name).join(', ')}); set vars.kind on the ${scope} to choose`,
    );
  }

  /** POST /api/books/validate: every problem of one YAML text, nothing stored; off the main thread (book-validation.pool.ts). */
  async validate(source: string, file: string, owner: string): Promise<{ valid: boolean; problems: BookProblem[]; book?: ApiValidation['book'] }> {
    const result = await this.validation.validate(source, file, owner);
    return { valid: !result.problems.some((p) => p.severity === 'error'), problems: result.problems, book: result.book };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.validation.close();
  }
}
