// What a template may read, and when (BOOKS.md section 5). Everything that can be known from
// the book alone is decided here, at load time, so that a typo fails `quire validate` instead
// of a job at 3 a.m. Pure: takes a reference and the facts about where it stands.
import type { BookScope } from './book.types.js';
import type { TemplateReference } from '../templates/template.types.js';

export const CONTEXT_ROOTS = ['deployment', 'group', 'cluster', 'params', 'job', 'book', 'step', 'steps', 'secrets'] as const;

/** Fields of the records a template sees; `vars` holds anything. */
const RECORD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  deployment: ['id', 'name', 'kind', 'vars', 'state'],
  group: ['id', 'name', 'vars'],
  cluster: ['id', 'name', 'vars'],
  job: ['id', 'action', 'triggered_by'],
  book: ['name', 'version'],
};

/** When a template is rendered, which decides what exists yet. */
export type RenderTime =
  /** at job creation: book `when`, `lock`, every `serialize` */
  | 'creation'
  /** when a step starts: its other fields */
  | 'step'
  /** when the job has ended: `on_success` / `on_failure` triggers */
  | 'chain';

/** Facts about the book, shared by all its templates. */
export interface BookFacts {
  scope: BookScope;
  /** step names in order (`undefined` where a step has no name); undefined when `steps` is misshapen */
  stepNames?: ReadonlyArray<string | undefined>;
  /** parameters the `params` schema declares, or undefined when any name is acceptable */
  declaredParams?: ReadonlySet<string>;
}

/** Where one template stands. */
export interface TemplateSite {
  time: RenderTime;
  /** what is rendered, for messages: `serialize`, `the book's when`, `lock` */
  label: string;
  /** index of the step the template belongs to; undefined for `defaults` and book-level keys */
  stepIndex?: number;
  /** keys of the step's `serialize`, or 'any' with a `serialize_handler` */
  dataKeys?: ReadonlySet<string> | 'any';
  /** the step's `secrets` */
  secrets?: ReadonlySet<string>;
  /** why this field may not read secrets at all: its rendered value is kept or passed on unmasked */
  noSecrets?: string;
}

/** Why the reference is wrong, or undefined when it is fine. */
export function checkReference(ref: TemplateReference, site: TemplateSite, facts: BookFacts): string | undefined {
  const path = ref.path;
  const root = path[0];
  if (root === undefined) return undefined;
  const text = path.join('.');
  if (!(CONTEXT_ROOTS as readonly string[]).includes(root)) {
    // inside #each / #with a bare name reads the block's value, not a root of the context
    return ref.inBlock ? undefined : `unknown template root '${root}' in {{${text}}} (available: ${CONTEXT_ROOTS.join(', ')})`;
  }
  const unavailable = scopeProblem(root, facts.scope, text) ?? timeProblem(root, site, text) ?? barredProblem(root, site, text);
  if (unavailable || ref.inBlock) return unavailable;
  switch (root) {
    case 'params':
      // `{{default params.x 1}}` says the author expects x may be absent
      return ref.optional ? undefined : paramProblem(path, facts);
    case 'step':
      return stepDataProblem(path, site);
    case 'steps':
      return stepsProblem(path, site, facts);
    case 'secrets':
      return secretProblem(path, site);
    default:
      return fieldProblem(root, path);
  }
}

function scopeProblem(root: string, scope: BookScope, text: string): string | undefined {
  const absent = (root === 'deployment' && scope !== 'deployment') || (root === 'group' && scope === 'cluster');
  return absent ? `${text}: ${root} is not available in a ${scope} book, whose jobs carry no ${root}` : undefined;
}

function timeProblem(root: string, site: TemplateSite, text: string): string | undefined {
  if (site.time === 'creation' && (root === 'steps' || root === 'step' || root === 'secrets')) {
    return `${text} is only available when the step runs; ${site.label} is rendered when the job is created`;
  }
  if (site.time === 'chain' && (root === 'step' || root === 'secrets')) {
    return `${text} is only available inside a step; ${site.label} is rendered when the job has ended`;
  }
  return undefined;
}

function barredProblem(root: string, site: TemplateSite, text: string): string | undefined {
  return root === 'secrets' && site.noSecrets ? `${text} cannot be used here: ${site.noSecrets}` : undefined;
}

function fieldProblem(root: string, path: readonly string[]): string | undefined {
  const fields = RECORD_FIELDS[root] ?? [];
  const field = path[1];
  if (field === undefined) return undefined;
  if (!fields.includes(field)) return `${root}.${field} does not exist: ${root} has ${fields.join(', ')}`;
  if (field !== 'vars' && path.length > 2) return `${path.join('.')} does not exist: ${root}.${field} is a plain value`;
  return undefined;
}

function paramProblem(path: readonly string[], facts: BookFacts): string | undefined {
  const name = path[1];
  if (name === undefined || !facts.declaredParams || facts.declaredParams.has(name)) return undefined;
  const declared = [...facts.declaredParams].join(', ') || 'none';
  return `params.${name} is not declared in params (declared: ${declared})`;
}

function stepDataProblem(path: readonly string[], site: TemplateSite): string | undefined {
  if (path.length === 1) return undefined;
  if (path[1] !== 'data') return `${path.slice(0, 2).join('.')} does not exist: a step sees its serialize result as step.data.<key>`;
  const key = path[2];
  if (key === undefined || site.dataKeys === 'any') return undefined;
  if (!site.dataKeys || site.dataKeys.size === 0) return `step.data.${key} does not exist: this step has no serialize`;
  if (site.dataKeys.has(key)) return undefined;
  return `step.data.${key} is not in this step's serialize (keys: ${[...site.dataKeys].join(', ')})`;
}

function stepsProblem(path: readonly string[], site: TemplateSite, facts: BookFacts): string | undefined {
  const name = path[1];
  if (name === undefined || !facts.stepNames) return undefined;
  const index = facts.stepNames.indexOf(name);
  const known = [...new Set(facts.stepNames.filter((n): n is string => n !== undefined))];
  if (index < 0) return `steps.${name} does not exist (steps: ${known.join(', ')})`;
  const current = site.time === 'step' ? site.stepIndex : undefined;
  if (current !== undefined && index === current) return `steps.${name} is this step itself: only earlier steps' outputs are available`;
  if (current !== undefined && index > current)
    return `steps.${name} comes later (steps[${index}]): only earlier steps' outputs are available`;
  if (path.length > 2 && path[2] !== 'output') return `steps.${name}.${path[2] ?? ''} does not exist: use steps.${name}.output.<key>`;
  return undefined;
}

function secretProblem(path: readonly string[], site: TemplateSite): string | undefined {
  const name = path[1];
  if (name === undefined || site.secrets?.has(name)) return undefined;
  const listed = site.secrets && site.secrets.size > 0 ? `listed: ${[...site.secrets].join(', ')}` : 'it lists none';
  return `secrets.${name} is not listed in this step's secrets (${listed})`;
}
