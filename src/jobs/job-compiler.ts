// Compiles one book version for one target into a job snapshot: parameters checked, templates
// checked against the now-known context, `serialize` and `when` evaluated, estimates chosen,
// timeouts computed. Pure apart from serialize handlers: the caller stores the result.
import { randomUUID } from 'node:crypto';
import { describeSkip } from './skip-reason.js';
import type { Book, BookStep } from '../books/book.types.js';
import { resolveStepPolicy, stepWithDefaults } from '../books/step-policy.js';
import { fieldName, runTimeFields, serializeFields, type TemplatedField } from '../books/templated-fields.js';
import { templates } from '../templates/template-engine.js';
import { TemplateError, type RenderContext } from '../templates/template.types.js';
import type { HandlerRegistry } from '../steps/handler-registry.js';
import { ErrorCode, QuireError, type ErrorDetail } from '../common/errors.js';
import { validateParams } from './params-validator.js';
import { chooseEstimate, estimateKey, etaOf, learnedRunChance, type StepHistory } from './estimates.js';
import type { DeploymentTarget } from '../inventory/inventory.service.js';
import type { RetryPolicy } from './job-step.entity.js';

export interface CompileInput {
  bookVersion: { id: string; name: string; hash: string; author_version: string | null; definition: Book };
  target: DeploymentTarget;
  params: unknown;
  triggeredBy: string;
  /** what each step learned, by historyKey(step name, estimate key) */
  history: ReadonlyMap<string, StepHistory>;
  learnMinSamples: number;
  /** names of the secrets configured here: a step's `when` may test whether one is (BOOKS.md section 7) */
  secretNames?: ReadonlySet<string>;
  handlers: HandlerRegistry;
  jobId?: string;
}

export interface CompiledStep {
  position: number;
  name: string;
  kind: string;
  description: string | null;
  spec: BookStep;
  data: Record<string, unknown>;
  state: 'pending' | 'skipped';
  retry: RetryPolicy;
  on_failure: 'fail' | 'continue' | 'ignore';
  estimated_duration: number;
  estimate_source: 'book' | 'history';
  estimate_runs: number;
  estimate_p90: number | null;
  estimate_key: string;
  run_chance: number;
  timeout: number;
}

export interface CompiledJob {
  id: string;
  book_version_id: string;
  book_name: string;
  kind: string;
  action: string;
  scope: string;
  deployment_id: string | null;
  group_id: string | null;
  cluster_id: string | null;
  priority: number;
  channel: string;
  locks: string[];
  params: Record<string, unknown>;
  context: RenderContext;
  triggered_by: string;
  dedupe_key: string | null;
  sets_state: string | null;
  on_success: Book['on_success'];
  on_failure: Book['on_failure'];
  should_notify: boolean;
  notify: Book['notify'];
  /** set when the book's `when` rendered falsy: the job ends done, every step skipped */
  skip_reason: string | null;
  steps: CompiledStep[];
  eta_s: number;
  eta_basis: 'learned' | 'book';
  eta_runs: number;
}

const CREATION_ROOTS = new Set(['deployment', 'group', 'cluster', 'params', 'job', 'book']);

export async function compileJob(input: CompileInput): Promise<CompiledJob> {
  const { bookVersion, target } = input;
  const book = bookVersion.definition;
  const params = validateParams(bookVersion.id, book.params, input.params);
  const id = input.jobId ?? randomUUID();
  const context = renderContext(input, id, params);

  // Every reference to a var or parameter the target lacks, across the whole book, at once.
  const problems = missingReferences(book, context);
  if (problems.length) {
    throw new QuireError(
      ErrorCode.InvalidParams,
      `the book refers to values this ${book.scope ?? 'deployment'} does not have: ${problems.map((p) => p.message).join('; ')}`,
      problems,
    );
  }

  const skipReason = book.when !== undefined ? whenSkipReason(book.when, context) : null;
  const steps: CompiledStep[] = [];
  const renderProblems: ErrorDetail[] = [];
  for (const [position, authored] of book.steps.entries()) {
    const spec = stepWithDefaults(book, authored);
    const policy = resolveStepPolicy(book, authored);
    let data: Record<string, unknown> = {};
    try {
      data = await serialize(spec, context, input.handlers);
    } catch (error) {
      renderProblems.push({ step: spec.name, field: 'serialize', message: `step ${spec.name}, serialize: ${messageOf(error)}` });
    }
    const key = estimateKey(spec.estimate_by, context);
    const history = input.history.get(historyKey(spec.name, key));
    const estimate = chooseEstimate(policy.estimated_duration_s, policy.multiplier, history, input.learnMinSamples);
    // A `when` decided by what is known now takes the step out of the ETA (or keeps it in); one
    // that reads earlier steps' outputs counts as often as the step ran in recent jobs.
    const foreseen = spec.when === undefined ? true : foreseeWhen(spec, context, data, input.secretNames ?? new Set());
    const runChance = foreseen === undefined ? (learnedRunChance(history, input.learnMinSamples) ?? 1) : foreseen ? 1 : 0;
    steps.push({
      position,
      name: spec.name,
      kind: spec.kind,
      description: spec.description ?? null,
      spec,
      data,
      state: skipReason ? 'skipped' : 'pending',
      retry: policy.retry,
      on_failure: policy.on_failure,
      ...estimate,
      estimate_key: key,
      run_chance: runChance,
    });
  }
  if (renderProblems.length) {
    throw new QuireError(ErrorCode.InvalidParams, `serialize failed: ${renderProblems.map((p) => p.message).join('; ')}`, renderProblems);
  }

  const eta = skipReason ? { eta_s: 0, eta_basis: 'book' as const, eta_runs: 0 } : etaOf(steps);
  const targetId = target.deployment?.id ?? target.group?.id ?? target.cluster?.id ?? 'none';
  return {
    id,
    book_version_id: bookVersion.id,
    book_name: book.name,
    kind: book.kind,
    action: book.action,
    scope: book.scope ?? 'deployment',
    deployment_id: target.deployment?.id ?? null,
    group_id: target.group?.id ?? null,
    cluster_id: target.cluster?.id ?? null,
    priority: book.priority ?? 2,
    channel: book.channel ?? 'default',
    locks: lockKeys(book, target, context),
    params,
    context,
    triggered_by: input.triggeredBy,
    dedupe_key: book.unique === 'none' ? null : `${book.name}@${targetId}`,
    sets_state: book.sets_state ?? null,
    on_success: book.on_success ?? [],
    on_failure: book.on_failure ?? [],
    should_notify: book.should_notify ?? false,
    notify: book.notify ?? [],
    skip_reason: skipReason,
    steps,
    ...eta,
  };
}

/** Where a step's history is found in CompileInput.history. */
export function historyKey(stepName: string, estimateKey: string): string {
  return `${stepName}\u0000${estimateKey}`;
}

/** Stands for a configured secret's value: a `when` at creation may learn only that it exists. */
const PRESENT = 'configured';

/**
 * The step's `when`, decided at creation when it reads only what is known then (params, the
 * target, serialize data, whether its secrets are configured); undefined when it reads earlier
 * steps' outputs or cannot be rendered yet. The runner still decides at run time: this only
 * shapes the ETA.
 */
export function foreseeWhen(spec: BookStep, context: RenderContext, data: Record<string, unknown>, secretNames: ReadonlySet<string>): boolean | undefined {
  const when = spec.when!;
  try {
    if (templates.references(when).some((ref) => ref.path[0] === 'steps')) return undefined;
    const secrets = Object.fromEntries((spec.secrets ?? []).filter((name) => secretNames.has(name.toLowerCase())).map((name) => [name, PRESENT]));
    return templates.isTruthy(templates.render(when, { ...context, step: { data }, secrets }, 'text'));
  } catch {
    return undefined;
  }
}

function renderContext(input: CompileInput, jobId: string, params: Record<string, unknown>): RenderContext {
  const { deployment, group, cluster } = input.target;
  const book = input.bookVersion;
  return {
    deployment: deployment
      ? { id: deployment.id, name: deployment.name, kind: deployment.kind, vars: deployment.vars ?? {}, state: deployment.state }
      : undefined,
    group: group ? { id: group.id, name: group.name, vars: group.vars ?? {} } : null,
    cluster: cluster ? { id: cluster.id, name: cluster.name, vars: cluster.vars ?? {} } : null,
    params,
    job: { id: jobId, action: book.definition.action, triggered_by: input.triggeredBy },
    book: { name: book.name, version: book.author_version ?? book.hash.slice(0, 12) },
  };
}

/** References to creation-time values (vars, params, ...) that this context lacks. */
function missingReferences(book: Book, context: RenderContext): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const check = (fields: TemplatedField[], stepName?: string) => {
    for (const field of fields) {
      let references;
      try {
        references = templates.references(field.source);
      } catch {
        continue; // syntax errors were reported when the book loaded
      }
      for (const ref of references) {
        if (ref.optional || ref.inBlock || !CREATION_ROOTS.has(ref.path[0]!)) continue;
        if (resolves(context, ref.path)) continue;
        const where = stepName ? `step ${stepName}, field ${fieldName(field.path)}` : `field ${fieldName(field.path)}`;
        problems.push({ step: stepName, field: fieldName(field.path), message: `${ref.path.join('.')} is not defined (${where})` });
      }
    }
  };
  const bookFields: TemplatedField[] = [];
  if (book.when) bookFields.push({ path: ['when'], source: book.when, mode: 'text' });
  if (book.lock && book.lock.includes('{{')) bookFields.push({ path: ['lock'], source: book.lock, mode: 'text' });
  check(bookFields);
  for (const step of book.steps) {
    const spec = stepWithDefaults(book, step);
    check([...serializeFields(spec), ...runTimeFields(spec)], spec.name);
  }
  return dedupe(problems);
}

function resolves(root: unknown, path: string[]): boolean {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

function dedupe(problems: ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.message) && seen.add(p.message));
}

function whenSkipReason(when: string, context: RenderContext): string | null {
  const rendered = templates.render(when, context, 'text');
  return templates.isTruthy(rendered) ? null : describeSkip(when, rendered);
}

async function serialize(step: BookStep, context: RenderContext, handlers: HandlerRegistry): Promise<Record<string, unknown>> {
  if (step.serialize_handler) {
    const handler = handlers.serializer(step.serialize_handler);
    if (!handler) throw new Error(`serialize handler '${step.serialize_handler}' is not registered`);
    return structuredClone(await handler({ ...structuredClone(context), step_name: step.name }));
  }
  if (!step.serialize) return {};
  return templates.renderValue(step.serialize, context, 'json') as Record<string, unknown>;
}

function lockKeys(book: Book, target: DeploymentTarget, context: RenderContext): string[] {
  // Jobs of one target never overlap: the target's own lock comes first, always.
  const own = target.deployment ? `deployment:${target.deployment.id}` : target.group ? `group:${target.group.id}` : `cluster:${target.cluster?.id}`;
  const locks = [own];
  if (book.lock === 'group' && target.group) locks.push(`group:${target.group.id}`);
  else if (book.lock === 'cluster' && target.cluster) locks.push(`cluster:${target.cluster.id}`);
  else if (book.lock && book.lock !== 'group' && book.lock !== 'cluster') locks.push(`lock:${templates.render(book.lock, context, 'text')}`);
  return [...new Set(locks)];
}

function messageOf(error: unknown): string {
  return error instanceof TemplateError || error instanceof Error ? error.message : String(error);
}
