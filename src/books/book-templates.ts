// Phase 2, templates: every templated field of a book is linted in the mode it will be
// rendered in (which decides its escaping), and every path it reads is checked against what
// will exist when it is rendered. Positions are mapped from inside the template to the file.
import { templates } from '../templates/template-engine.js';
import type { RenderMode, TemplateReference } from '../templates/template.types.js';
import type { BookScope, BookStep } from './book.types.js';
import type { PathSegment } from './book-parser.js';
import { formatPath } from './problem.js';
import { isRecord, listOf, type RawRecord, type SemanticContext } from './semantic-context.js';
import { checkReference, type BookFacts, type TemplateSite } from './template-references.js';
import { runTimeFields, serializeFields, type TemplatedField } from './templated-fields.js';
import { declaredParamNames } from './params-names.js';

interface TemplateField {
  path: PathSegment[];
  source: string;
  mode: RenderMode;
  site: TemplateSite;
}

export function checkTemplates(c: SemanticContext): void {
  const facts = bookFacts(c);
  for (const field of templateFields(c)) {
    if (c.usable(field.path) && templates.hasTemplate(field.source)) checkField(c, field, facts);
  }
}

function checkField(c: SemanticContext, field: TemplateField, facts: BookFacts): void {
  const where = formatPath(field.path);
  const issues = templates.lint(field.source, field.mode);
  for (const issue of issues) {
    c.at(c.parsed.locateInScalar(field.path, issue.line, issue.col), field.path, `${where}: ${issue.message}`, issue.severity);
  }
  // the references of a template that does not parse are guesses
  if (issues.some((i) => i.severity === 'error')) return;
  let refs: TemplateReference[];
  try {
    refs = templates.references(field.source);
  } catch (e) {
    c.at(c.parsed.locate(field.path), field.path, `${where}: ${(e as Error).message}`, 'error');
    return;
  }
  for (const ref of refs) {
    const problem = checkReference(ref, field.site, facts);
    if (problem) c.at(c.parsed.locateInScalar(field.path, ref.line, ref.col), field.path, `${where}: ${problem}`, 'error');
  }
}

export function bookFacts(c: SemanticContext): BookFacts {
  const scope = c.usable(['scope']) && typeof c.book.scope === 'string' ? (c.book.scope as BookScope) : 'deployment';
  const stepNames = Array.isArray(c.book.steps)
    ? c.book.steps.map((s: unknown) => (isRecord(s) && typeof s.name === 'string' ? s.name : undefined))
    : undefined;
  return { scope, stepNames, declaredParams: declaredParams(c) };
}

/**
 * Parameter names a template may use: those the params schema declares (params-names.ts). A
 * schema that admits other names on purpose or has no `properties` leaves the check to job
 * creation.
 */
function declaredParams(c: SemanticContext): ReadonlySet<string> | undefined {
  const params = c.book.params;
  if (!isRecord(params) || !c.usable(['params']) || !isRecord(params.properties)) return undefined;
  return declaredParamNames(params);
}

function templateFields(c: SemanticContext): TemplateField[] {
  const fields: TemplateField[] = [];
  const book = c.book;
  const creation = (label: string): TemplateSite => ({ time: 'creation', label });
  pushString(fields, ['when'], book.when, 'text', creation("the book's when"));
  pushString(fields, ['lock'], book.lock, 'text', creation('lock'));
  for (const key of ['on_success', 'on_failure']) {
    for (const [i, chain] of listOf(book[key]).entries()) {
      const trigger = isRecord(chain) ? chain.trigger : undefined;
      if (!isRecord(trigger)) continue;
      const site: TemplateSite = { time: 'chain', label: key };
      pushString(fields, [key, i, 'trigger', 'deployment'], trigger.deployment, 'text', site);
      pushLeaves(fields, [key, i, 'trigger', 'params'], trigger.params, 'json', site);
    }
  }
  const defaults = isRecord(book.defaults) ? book.defaults : {};
  for (const [base, step] of c.stepLikes()) fields.push(...stepFields(c, base, step, defaults));
  return fields;
}

/**
 * The templated keys of a step (or of `defaults`) and their modes, from the list the job
 * compiler and the step runner also use. Keys phase 1 rejected are left out: their shape is
 * unknown, and they have been reported already.
 */
function stepFields(c: SemanticContext, base: PathSegment[], step: RawRecord, defaults: RawRecord): TemplateField[] {
  const site = stepSite(base, step, defaults);
  const shaped = Object.fromEntries(Object.entries(step).filter(([key]) => c.usable([...base, key]))) as unknown as BookStep;
  const at = (f: TemplatedField, fieldSite: TemplateSite): TemplateField => ({
    path: [...base, ...f.path],
    source: f.source,
    mode: f.mode,
    site: fieldSite,
  });
  return [
    ...runTimeFields(shaped).map((f) => at(f, withoutSecrets(site, f.path[0]))),
    ...serializeFields(shaped).map((f) => at(f, { time: 'creation', label: 'serialize' })),
  ];
}

// Fields whose rendered text leaves the step unmasked: instructions are stored and shown to
// people; a trigger step's params become the new job's stored params and context.
const NO_SECRETS: Readonly<Record<string, string>> = {
  instructions: 'instructions are stored with the job and shown to people; give the secret to the step that needs it',
  params: "a trigger step's params are stored as the triggered job's parameters; let the triggered book list the secret",
};

function withoutSecrets(site: TemplateSite, key: PathSegment | undefined): TemplateSite {
  const reason = typeof key === 'string' ? NO_SECRETS[key] : undefined;
  return reason ? { ...site, noSecrets: reason } : site;
}

/** What a step's templates may read: its (or the default) serialize keys and secrets. */
function stepSite(base: PathSegment[], step: RawRecord, defaults: RawRecord): TemplateSite {
  const isDefaults = base[0] === 'defaults';
  const handler = step.serialize_handler ?? defaults.serialize_handler;
  const serialize = step.serialize ?? defaults.serialize;
  const secrets = listOf(step.secrets ?? defaults.secrets).filter((s): s is string => typeof s === 'string');
  return {
    time: 'step',
    label: isDefaults ? 'defaults' : formatPath(base),
    stepIndex: isDefaults ? undefined : (base[1] as number),
    // defaults apply to steps that bring their own serialize: any key may exist there
    dataKeys: handler !== undefined || isDefaults ? 'any' : new Set(isRecord(serialize) ? Object.keys(serialize) : []),
    secrets: new Set(secrets),
  };
}

function pushString(fields: TemplateField[], path: PathSegment[], value: unknown, mode: RenderMode, site: TemplateSite): void {
  if (typeof value === 'string') fields.push({ path, source: value, mode, site });
}

/** Every string leaf of a structured value (body, serialize, params). Depth is bounded by the parser. */
function pushLeaves(fields: TemplateField[], path: PathSegment[], value: unknown, mode: RenderMode, site: TemplateSite): void {
  if (typeof value === 'string') pushString(fields, path, value, mode, site);
  else if (Array.isArray(value)) value.forEach((item, i) => pushLeaves(fields, [...path, i], item, mode, site));
  else if (isRecord(value)) for (const [key, item] of Object.entries(value)) pushLeaves(fields, [...path, key], item, mode, site);
}
