// Validation of books sent through the API, off the main thread and bounded: the main thread runs
// the lease heartbeats, and eight 1 MB books validated on it kept them from running for 13 s, so
// a running step was stopped and run again (issue 8 item 2; one such book takes 11.7 s to validate
// on the 2-core box). One worker thread leaves the other core to the main thread; at most
// PER_TOKEN_LIMIT validations of one token and QUEUE_LIMIT in all wait or run at once, the rest
// get 429.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { ErrorCode, QuireError } from '../common/errors.js';
import type { BookProblem } from './book.types.js';

export const PER_TOKEN_LIMIT = 2;
export const QUEUE_LIMIT = 8;
/** A validation thread's heap: a book is at most 1 MiB, its parse tree far less than this. */
const WORKER_HEAP_MB = 256;

export interface ApiValidation {
  problems: BookProblem[];
  book?: { name: string; kind: string; action: string };
}

interface Pending {
  resolve(result: ApiValidation): void;
  reject(error: Error): void;
  owner: string;
}

/** The worker's compiled file: beside this one in dist/, or dist/'s when this runs from src/ (jest). */
function workerFile(): string | null {
  for (const candidate of [
    new URL('./book-validation.worker.js', import.meta.url),
    new URL('../../dist/src/books/book-validation.worker.js', import.meta.url),
  ]) {
    const path = fileURLToPath(candidate);
    if (existsSync(path)) return path;
  }
  return null;
}

export class BookValidationPool {
  private readonly logger = new Logger('Books');
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly perOwner = new Map<string, number>();
  private nextId = 1;

  /** `owner`: whose validation this is (a token id), for the per-token limit. */
  async validate(source: string, file: string, owner: string): Promise<ApiValidation> {
    if ((this.perOwner.get(owner) ?? 0) >= PER_TOKEN_LIMIT) {
      throw new QuireError(ErrorCode.TooManyRequests, `too many validations at once for this token (at most ${PER_TOKEN_LIMIT}); retry when one has answered`);
    }
    if (this.pending.size >= QUEUE_LIMIT) {
      throw new QuireError(ErrorCode.TooManyRequests, `the server is validating ${QUEUE_LIMIT} books already; retry in a few seconds`);
    }
    const worker = this.ensureWorker();
    const id = this.nextId++;
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
    try {
      return await new Promise<ApiValidation>((resolve, reject) => {
        this.pending.set(id, { resolve, reject, owner });
        worker.postMessage({ id, source, file });
      });
    } finally {
      const left = (this.perOwner.get(owner) ?? 1) - 1;
      if (left) this.perOwner.set(owner, left);
      else this.perOwner.delete(owner);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const file = workerFile();
    if (!file) throw new Error('book-validation.worker.js is missing: run `npm run build`');
    const worker = new Worker(file, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.unref();
    worker.on('message', (message: ApiValidation & { id: number; error?: string }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.error) pending.reject(new Error(`validation failed: ${message.error}`));
      else pending.resolve({ problems: message.problems, book: message.book });
    });
    // A thread that dies (out of its heap) fails what it had; the next validation starts another.
    const fail = (why: string) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.reject(new QuireError(ErrorCode.InvalidInput, `the book could not be validated: ${why}`));
      }
    };
    worker.on('error', (error) => {
      this.logger.warn(`book validation thread failed: ${error.message}`);
      fail(error.message);
    });
    worker.on('exit', (code) => fail(`the validation thread exited (${code})`));
    this.worker = worker;
    return worker;
  }
}
