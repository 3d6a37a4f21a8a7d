// Phase 2 of book validation: what the JSON Schema cannot say. Each check reads only parts
// that passed phase 1 and reports every problem it finds (STYLE.md habit 5).
import { Cron } from 'croner';
import { paramsDefaultProblems, paramsSchemaProblems } from './book-schema.js';
import type { PathSegment } from './book-parser.js';
import { parseDuration } from './duration.js';
import { formatPath, showValue } from './problem.js';
import { isRecord, listOf, type RawRecord, type SemanticContext } from './semantic-context.js';

export function checkSemantics(c: SemanticContext): void {
  checkStepNames(c);
  checkHandlers(c);
  checkParamsSchema(c);
  checkDurations(c);
  checkSchedules(c);
  checkStepShapes(c);
  checkLock(c);
  checkNotify(c);
  checkScopeKeys(c);
}

function checkStepNames(c: SemanticContext): void {
  const first = new Map<string, number>();
  for (const [i, step] of c.steps()) {
    const path = ['steps', i, 'name'];
    if (typeof step.name !== 'string' || !c.usable(path)) continue;
    const earlier = first.get(step.name);
    if (earlier === undefined) first.set(step.name, i);
    else c.error(path, `duplicate step name '${step.name}' (also steps[${earlier}]): step names must be unique`);
  }
}

function checkHandlers(c: SemanticContext): void {
  for (const [base, step] of c.stepLikes()) {
    for (const key of ['handler', 'serialize_handler']) {
      const name = step[key];
      const path = [...base, key];
      const known = key === 'handler' ? c.ctx.handlers : (c.ctx.serializeHandlers ?? c.ctx.handlers);
      if (typeof name !== 'string' || !c.usable(path) || known.has(name)) continue;
      c.error(path, `${formatPath(path)}: unknown handler '${name}' (registered: ${listNames(known)})`);
    }
  }
}

function listNames(names: ReadonlySet<string>): string {
  const sorted = [...names].sort();
  if (sorted.length === 0) return 'none';
  return sorted.length > 12 ? `${sorted.slice(0, 12).join(', ')}, ...` : sorted.join(', ');
}

function checkParamsSchema(c: SemanticContext): void {
  const params = c.book.params;
  if (!isRecord(params) || !c.usable(['params'])) return;
  if (params.type !== undefined && params.type !== 'object') {
    c.error(['params', 'type'], `params must describe an object of parameters (type: object), got type ${showValue(params.type)}`);
    return;
  }
  const schemaProblems = paramsSchemaProblems(params);
  // defaults can only be checked against a schema that compiles
  if (schemaProblems.length === 0) checkParamsDefaults(c, params);
  for (const problem of schemaProblems.slice(0, 5)) {
    // ajv names places as JSON pointers (`/properties/x/minimum`); authors know params.properties.x.minimum
    const path = problem.pointer !== undefined ? ['params', ...pointerSegments(problem.pointer)] : keywordPath(params, problem.message);
    // `params.properties.v.type: 'strng' is not a JSON Schema type (...)`: the place, the value, what is allowed.
    c.error(path, problem.pointer !== undefined ? `${formatPath(path)}: ${problem.message}` : `params is not a valid JSON Schema: ${problem.message}`);
  }
}

function checkParamsDefaults(c: SemanticContext, params: RawRecord): void {
  for (const problem of paramsDefaultProblems(params)) {
    const path = ['params', ...pointerSegments(problem.pointer ?? ''), 'default'];
    c.error(path, `${formatPath(path)} ${showValue(valueAt(params, path.slice(1)))} does not match its own schema: ${problem.message}`);
  }
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (isRecord(node) || Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined),
    root,
  );
}

function pointerSegments(pointer: string): PathSegment[] {
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/** For strict-mode complaints (`unknown keyword: "propertes"`): where that keyword is written. */
function keywordPath(params: RawRecord, message: string): PathSegment[] {
  const keyword = /keyword:? "([^"]+)"/.exec(message)?.[1];
  const found = keyword === undefined ? undefined : findKey(params, keyword, []);
  return ['params', ...(found ?? [])];
}

function findKey(value: unknown, key: string, path: PathSegment[]): PathSegment[] | undefined {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findKey(v, key, [...path, i]);
      if (found) return found;
    }
  } else if (isRecord(value)) {
    if (key in value) return [...path, key];
    for (const [k, v] of Object.entries(value)) {
      const found = findKey(v, key, [...path, k]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Durations that must be more than zero: a zero estimate or poll interval makes no sense. */
const POSITIVE = new Set(['estimated_duration', 'interval', 'every']);

function checkDurations(c: SemanticContext): void {
  for (const [base, step] of c.stepLikes()) {
    for (const key of ['estimated_duration', 'interval', 'duration']) checkDuration(c, [...base, key], step[key]);
    const retry = step.retry;
    if (isRecord(retry)) for (const key of ['delay', 'max_delay']) checkDuration(c, [...base, 'retry', key], retry[key]);
  }
  for (const [i, schedule] of listOf(c.book.schedules).entries()) {
    if (isRecord(schedule)) checkDuration(c, ['schedules', i, 'every'], schedule.every);
  }
  for (const key of ['on_success', 'on_failure']) {
    for (const [i, chain] of listOf(c.book[key]).entries()) {
      const trigger = isRecord(chain) ? chain.trigger : undefined;
      if (isRecord(trigger)) checkDuration(c, [key, i, 'trigger', 'delay'], trigger.delay);
    }
  }
}

function checkDuration(c: SemanticContext, path: PathSegment[], value: unknown): void {
  if (value === undefined || !c.usable(path)) return;
  let seconds: number;
  try {
    seconds = parseDuration(value as number | string);
  } catch (e) {
    c.error(path, `${formatPath(path)}: ${(e as Error).message}`);
    return;
  }
  const key = path[path.length - 1];
  if (seconds === 0 && typeof key === 'string' && POSITIVE.has(key))
    c.error(path, `${formatPath(path)} must be more than 0 (got ${showValue(value)})`);
}

function checkSchedules(c: SemanticContext): void {
  for (const [i, schedule] of listOf(c.book.schedules).entries()) {
    if (!isRecord(schedule)) continue;
    const at = schedule.at;
    const times: Array<[PathSegment[], unknown]> = Array.isArray(at)
      ? at.map((t, j) => [['schedules', i, 'at', j], t])
      : at === undefined
        ? []
        : [[['schedules', i, 'at'], at]];
    for (const [path, time] of times) checkTimeOfDay(c, path, time);
    if (typeof schedule.cron === 'string') checkCron(c, ['schedules', i, 'cron'], schedule.cron);
  }
}

function checkTimeOfDay(c: SemanticContext, path: PathSegment[], value: unknown): void {
  if (typeof value !== 'string' || !c.usable(path)) return;
  const m = /^([0-9]{1,2}):([0-9]{2})$/.exec(value);
  if (m && Number(m[1]) < 24 && Number(m[2]) < 60) return;
  c.error(path, `${formatPath(path)} ${showValue(value)} is not a time of day (HH:MM, 00:00 to 23:59)`);
}

function checkCron(c: SemanticContext, path: PathSegment[], expression: string): void {
  if (!c.usable(path)) return;
  try {
    new Cron(expression, { paused: true }).stop();
  } catch (e) {
    c.error(path, `${formatPath(path)} ${showValue(expression)} is not a valid cron expression: ${(e as Error).message}`);
  }
}

function checkStepShapes(c: SemanticContext): void {
  for (const [i, step] of c.steps()) {
    const base: PathSegment[] = ['steps', i];
    if (!c.usable([...base, 'kind'])) continue;
    if (step.kind === 'shell') exactlyOne(c, base, step, ['run', 'argv'], 'a shell step');
    if (step.kind === 'wait') exactlyOne(c, base, step, ['until', 'duration'], 'a wait step');
    const probe = isRecord(step.until) ? step.until.shell : undefined;
    if (step.kind === 'wait' && isRecord(probe)) exactlyOne(c, [...base, 'until', 'shell'], probe, ['run', 'argv'], 'a shell probe');
  }
}

function exactlyOne(c: SemanticContext, base: PathSegment[], obj: RawRecord, keys: [string, string], what: string): void {
  if (!c.usable(...keys.map((k) => [...base, k]))) return;
  const present = keys.filter((k) => obj[k] !== undefined);
  const name = typeof obj.name === 'string' ? ` ('${obj.name}')` : '';
  if (present.length === 0) c.error(base, `${formatPath(base)}${name}: ${what} needs '${keys[0]}' or '${keys[1]}'`);
  if (present.length === 2) c.error([...base, keys[1]], `${formatPath(base)}${name}: ${what} takes '${keys[0]}' or '${keys[1]}', not both`);
}

function checkLock(c: SemanticContext): void {
  const lock = c.book.lock;
  if (typeof lock !== 'string' || !c.usable(['lock'], ['scope'])) return;
  const scope = c.book.scope ?? 'deployment';
  if (lock.trim() === '') c.error(['lock'], "lock must name a lock: 'group', 'cluster' or a template");
  else if (lock === 'deployment') c.warn(['lock'], "lock 'deployment' adds nothing: every job already holds its deployment's lock");
  else if (lock === 'group' && scope === 'cluster')
    c.error(['lock'], "lock 'group' cannot be taken by a cluster book: its jobs carry no group");
}

function checkNotify(c: SemanticContext): void {
  for (const [i, channel] of listOf(c.book.notify).entries()) {
    const path = ['notify', i];
    if (!isRecord(channel) || !c.usable(path)) continue;
    if (channel.webhook === undefined && channel.email === undefined) c.error(path, `${formatPath(path)} needs a 'webhook' or an 'email'`);
    if (channel.secret !== undefined && channel.webhook === undefined)
      c.warn([...path, 'secret'], `${formatPath(path)}.secret only signs webhooks; this channel has none`);
  }
}

/** Keys about the deployment's state mean nothing to a book whose jobs carry no deployment. */
function checkScopeKeys(c: SemanticContext): void {
  const scope = c.book.scope;
  if ((scope !== 'group' && scope !== 'cluster') || !c.usable(['scope'])) return;
  for (const key of ['allowed_from', 'sets_state']) {
    if (c.book[key] !== undefined) c.warn([key], `${key} has no effect in a ${scope} book: its jobs carry no deployment`, 'key');
  }
}
