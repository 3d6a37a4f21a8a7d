// The thread that validates books sent to POST /api/books/validate: parsing and checking a 1 MB
// book takes seconds, which on the main thread starved the lease heartbeats (issue 8 item 2).
import { parentPort } from 'node:worker_threads';
import { validateBookSource } from './book-validator.js';
import { handlerRegistry } from '../steps/demo.handlers.js';

const ctx = { handlers: handlerRegistry.handlerNames(), serializeHandlers: handlerRegistry.serializerNames() };

parentPort!.on('message', ({ id, source, file }: { id: number; source: string; file: string }) => {
  try {
    const { book, problems } = validateBookSource(file, source, ctx);
    parentPort!.postMessage({ id, problems, book: book ? { name: book.name, kind: book.kind, action: book.action } : undefined });
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message });
  }
});
