// Clusters, groups, deployments and books, as the views need them together.
import { get } from './api.js';

export async function loadInventory() {
  const [clusters, groups, deployments, books] = await Promise.all([
    get('/api/clusters').then((b) => b.clusters ?? []),
    get('/api/groups').then((b) => b.groups ?? []),
    get('/api/deployments').then((b) => b.deployments ?? []),
    get('/api/books').then((b) => b.books ?? []),
  ]);
  const byName = (a, b) => String(a.name).localeCompare(String(b.name));
  return { clusters: clusters.sort(byName), groups: groups.sort(byName), deployments: deployments.sort(byName), books };
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
