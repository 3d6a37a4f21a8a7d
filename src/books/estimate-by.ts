// Phase 2, `estimate_by` (BOOKS.md section 7): each entry names a value known when the job is
// created, since the step's duration history is chosen then. Checked like a template reference
// rendered at creation, plus what makes no sense as a history key.
import type { PathSegment } from './book-parser.js';
import { bookFacts } from './book-templates.js';
import { formatPath, showValue } from './problem.js';
import { listOf, type SemanticContext } from './semantic-context.js';
import { checkReference } from './template-references.js';

/** Roots whose values are known at creation and describe the work, not one job. */
const KEY_ROOTS = ['params', 'deployment', 'group', 'cluster'];

const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;

export function checkEstimateBy(c: SemanticContext): void {
  const facts = bookFacts(c);
  for (const [base, step] of c.stepLikes()) {
    const path: PathSegment[] = [...base, 'estimate_by'];
    if (step.estimate_by === undefined || !c.usable(path)) continue;
    for (const [i, entry] of listOf(step.estimate_by).entries()) {
      const at = [...path, i];
      const problem = entryProblem(entry, facts);
      if (problem) c.error(at, `${formatPath(at)}: ${problem}`);
    }
  }
}

function entryProblem(entry: unknown, facts: ReturnType<typeof bookFacts>): string | undefined {
  if (typeof entry !== 'string' || !PATH.test(entry)) {
    return `${showValue(entry)} is not a value's path: write it as in a template without braces, e.g. params.size or deployment.vars.tier`;
  }
  const segments = entry.split('.');
  const root = segments[0]!;
  if (root === 'secrets') return `${entry}: a secret cannot key a duration history (its value would be stored); use a parameter or var`;
  if (root === 'steps' || root === 'step')
    return `${entry} is only known when the step runs; the estimate is chosen when the job is created (use ${KEY_ROOTS.map((r) => `${r}.`).join(', ')})`;
  if (!KEY_ROOTS.includes(root))
    return `unknown root '${root}' in ${entry} (estimate_by takes ${KEY_ROOTS.map((r) => `${r}.…`).join(', ')})`;
  return checkReference(
    { path: segments, optional: false, inBlock: false, line: 1, col: 1 },
    { time: 'creation', label: 'estimate_by' },
    facts,
  );
}
