// The record an action runs on, and the books, as the run view needs them together.
import { get } from './api.js';

const PLURAL = { deployment: 'deployments', group: 'groups', cluster: 'clusters' };

/**
 * One deployment, group or cluster by name or id (null when this token cannot see it), and every
 * book. One record, not the whole inventory: with 10,000 deployments the list alone was 3 MiB.
 */
export async function loadRecord(scope, target) {
  const [record, books] = await Promise.all([
    get(`/api/${PLURAL[scope]}/${encodeURIComponent(target)}`)
      .then((b) => b[scope] ?? null)
      .catch((error) => {
        if (error.status === 404) return null;
        throw error;
      }),
    get('/api/books').then((b) => b.books ?? []),
  ]);
  return { record, books };
}

/** The books a record may run: deployment books by kind; group and cluster books by `vars.kind`, or all of them. */
export function booksFor(books, scope, record) {
  return books
    .filter((b) => (b.scope ?? 'deployment') === scope)
    .filter((b) => {
      if (scope === 'deployment') return b.kind === record.kind;
      const kind = typeof record.vars?.kind === 'string' ? record.vars.kind : null;
      return !kind || b.kind === kind;
    })
    .sort((a, b) => String(a.action).localeCompare(String(b.action)));
}

export function findBook(books, scope, record, action) {
  return booksFor(books, scope, record).find((b) => b.action === action) ?? null;
}
