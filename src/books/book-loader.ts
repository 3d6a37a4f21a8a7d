// Reads books from disk: every `*.book.yaml` under a directory (subfolders carry no meaning)
// plus its optional `inventory.yaml`, or the files and directories the CLI is given.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BookProblem, ValidationContext } from './book.types.js';
import { YAML_LIMITS } from './book-parser.js';
import { validateBookSet, type ValidBook } from './book-validator.js';
import type { Inventory } from './inventory.types.js';
import { validateInventorySource } from './inventory-validator.js';
import { sortProblems } from './problem.js';

export const BOOK_SUFFIX = '.book.yaml';
export const INVENTORY_FILE = 'inventory.yaml';

export interface LoadedBooks {
  books: ValidBook[];
  inventory?: Inventory;
  problems: BookProblem[];
}

export async function loadBooksDir(dir: string, ctx: ValidationContext): Promise<LoadedBooks> {
  const files = await bookFilesUnder(dir);
  const inventoryPath = join(dir, INVENTORY_FILE);
  const result = await validateFiles(files, ctx);
  if (!(await isFile(inventoryPath))) return result;
  const inv = await loadInventory(inventoryPath);
  return { ...result, inventory: inv.inventory, problems: sortProblems([...result.problems, ...inv.problems]) };
}

export interface ValidatedPaths {
  books: ValidBook[];
  inventories: Array<{ file: string; inventory: Inventory }>;
  problems: BookProblem[];
}

/**
 * For `quire validate PATH...`: directories as loadBooksDir reads them; files by name
 * (`inventory.yaml` as an inventory, anything else as a book). All books given are checked
 * together, so duplicates across paths are found too.
 */
export async function validatePaths(paths: readonly string[], ctx: ValidationContext): Promise<ValidatedPaths> {
  const bookFiles: string[] = [];
  const inventoryFiles: string[] = [];
  const problems: BookProblem[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) problems.push(pathProblem(path, 'no such file or directory'));
    else if (info.isDirectory()) {
      bookFiles.push(...(await bookFilesUnder(path)));
      if (await isFile(join(path, INVENTORY_FILE))) inventoryFiles.push(join(path, INVENTORY_FILE));
    } else if (basename(path) === INVENTORY_FILE) inventoryFiles.push(path);
    else bookFiles.push(path);
  }
  const result = await validateFiles(bookFiles, ctx);
  const inventories: ValidatedPaths['inventories'] = [];
  for (const file of inventoryFiles) {
    const inv = await loadInventory(file);
    problems.push(...inv.problems);
    if (inv.inventory) inventories.push({ file, inventory: inv.inventory });
  }
  return { books: result.books, inventories, problems: sortProblems([...problems, ...result.problems]) };
}

async function validateFiles(files: readonly string[], ctx: ValidationContext): Promise<{ books: ValidBook[]; problems: BookProblem[] }> {
  const sources: Array<{ file: string; source: string }> = [];
  const problems: BookProblem[] = [];
  for (const file of files) {
    const read = await readSource(file);
    if (typeof read === 'string') sources.push({ file, source: read });
    else problems.push(read);
  }
  const set = validateBookSet(sources, ctx);
  return { books: set.books, problems: [...problems, ...set.problems] };
}

async function loadInventory(file: string): Promise<{ inventory?: Inventory; problems: BookProblem[] }> {
  const read = await readSource(file);
  if (typeof read !== 'string') return { problems: [read] };
  return validateInventorySource(file, read);
}

/** The file's text, or a problem; a file past the size limit is not even read. */
async function readSource(file: string): Promise<string | BookProblem> {
  try {
    const { size } = await stat(file);
    if (size > YAML_LIMITS.maxBytes)
      return pathProblem(file, `file too large: ${size} bytes, the limit is ${YAML_LIMITS.maxBytes} (1 MiB)`);
    return await readFile(file, 'utf8');
  } catch (e) {
    return pathProblem(file, `cannot read: ${(e as Error).message}`);
  }
}

/** `*.book.yaml` files under `dir`, at any depth, in a stable (sorted) order. */
async function bookFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(BOOK_SUFFIX))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

function pathProblem(file: string, message: string): BookProblem {
  return { file, line: 1, col: 1, field: '', message, severity: 'error' };
}
