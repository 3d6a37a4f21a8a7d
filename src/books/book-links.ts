// Across the books of one set: a chain link (`on_success`/`on_failure` with `params`) or a
// `trigger` step that passes a parameter the triggered book does not declare would be refused
// at run time, after the first job has done its work; the validator says so when the books
// load, at the parameter's name. Only links whose target book can be known without the
// inventory are checked: no `deployment` of their own (the same record as the caller's), an
// action written out, and one book in the set that serves it.
import type { PathSegment } from './book-parser.js';
import type { BookProblem } from './book.types.js';
import { declaredParamNames } from './params-names.js';
import { formatPath, makeProblem } from './problem.js';
import { closest } from './schema-errors.js';
import { isRecord } from './semantic-context.js';

interface LinkedBook {
  file: string;
  value: unknown;
  locate(path: readonly PathSegment[], at?: 'key' | 'value'): { line: number; col: number };
  problems: BookProblem[];
}

interface Link {
  action: string;
  params: Record<string, unknown>;
  /** where `params` is in the calling book */
  path: PathSegment[];
}

/** Adds to each book's problems every parameter its links pass that the target does not declare. */
export function checkLinkParams(books: readonly LinkedBook[]): void {
  const records = books.filter((b) => isRecord(b.value)).map((b) => ({ book: b, value: b.value as Record<string, unknown> }));
  for (const { book, value } of records) {
    for (const link of linksOf(value)) {
      const target = targetOf(value, link.action, records.map((r) => r.value));
      if (!target) continue;
      const declared = declaredParamNames(target.params);
      if (!declared) continue;
      for (const name of Object.keys(link.params)) {
        if (declared.has(name)) continue;
        const path = [...link.path, name];
        const near = closest(name, [...declared]);
        const hint = near ? `did you mean '${near}'?` : declared.size ? `it takes ${[...declared].join(', ')}` : 'it takes no parameters';
        book.problems.push(
          makeProblem(book.file, book.locate(path, 'key'), path, `${formatPath(path)}: book '${String(target.name)}' (action '${link.action}') declares no parameter '${name}' (${hint})`),
        );
      }
    }
  }
}

function linksOf(book: Record<string, unknown>): Link[] {
  const links: Link[] = [];
  for (const key of ['on_success', 'on_failure'] as const) {
    const chain = book[key];
    if (!Array.isArray(chain)) continue;
    chain.forEach((entry, i) => {
      const trigger = isRecord(entry) ? entry.trigger : undefined;
      if (isRecord(trigger) && trigger.deployment === undefined && typeof trigger.action === 'string' && isRecord(trigger.params))
        links.push({ action: trigger.action, params: trigger.params, path: [key, i, 'trigger', 'params'] });
    });
  }
  const steps = book.steps;
  if (Array.isArray(steps))
    steps.forEach((step, i) => {
      if (isRecord(step) && step.kind === 'trigger' && step.deployment === undefined && typeof step.action === 'string' && isRecord(step.params))
        links.push({ action: step.action, params: step.params, path: ['steps', i, 'params'] });
    });
  return links.filter((l) => !l.action.includes('{{'));
}

/**
 * The book the engine would run for `action` on the caller's own record: a deployment's by its
 * kind; a group's or cluster's by scope (and kind, should several books of the scope serve it).
 */
function targetOf(caller: Record<string, unknown>, action: string, books: Record<string, unknown>[]): Record<string, unknown> | undefined {
  const scope = caller.scope ?? 'deployment';
  const serving = books.filter((b) => (b.scope ?? 'deployment') === scope && b.action === action);
  const sameKind = serving.filter((b) => b.kind === caller.kind);
  if (scope === 'deployment' || serving.length > 1) return sameKind.length === 1 ? sameKind[0] : undefined;
  return serving.length === 1 ? serving[0] : undefined;
}
