// Which fields of a step hold templates, and where each one's value lands (its RenderMode).
// The validator, the job compiler and the step runner all walk steps through this one list.
import type { RenderMode } from '../templates/template.types.js';
import type { BookStep } from './book.types.js';

export interface TemplatedField {
  /** path inside the step, e.g. ['until', 'http', 'url'] or ['body', 'name'] */
  path: (string | number)[];
  source: string;
  mode: RenderMode;
}

/** Top-level step keys and how their string leaves render; absent keys are never templated. */
const STEP_FIELD_MODES: Record<string, RenderMode> = {
  run: 'shell',
  url: 'url',
  headers: 'header',
  body: 'json',
  params: 'json',
  argv: 'text',
  env: 'text',
  cwd: 'text',
  description: 'text',
  instructions: 'text',
  when: 'text',
  deployment: 'text',
  method: 'text',
};

/** Nested probe fields of a `wait` step. */
const UNTIL_FIELD_MODES: Record<string, RenderMode> = { url: 'url', run: 'shell', argv: 'text', method: 'text' };

function collect(value: unknown, path: (string | number)[], mode: RenderMode, out: TemplatedField[]): void {
  if (typeof value === 'string') {
    if (value.includes('{{')) out.push({ path, source: value, mode });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collect(item, [...path, i], mode, out));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) collect(item, [...path, key], mode, out);
  }
}

/** Fields rendered when the step starts (everything but `serialize`). */
export function runTimeFields(step: BookStep): TemplatedField[] {
  const out: TemplatedField[] = [];
  for (const [key, mode] of Object.entries(STEP_FIELD_MODES)) {
    if (key in step) collect((step as unknown as Record<string, unknown>)[key], [key], mode, out);
  }
  for (const probe of ['http', 'shell'] as const) {
    const fields = step.until?.[probe] as Record<string, unknown> | undefined;
    if (!fields) continue;
    for (const [key, mode] of Object.entries(UNTIL_FIELD_MODES)) {
      if (key in fields) collect(fields[key], ['until', probe, key], mode, out);
    }
  }
  return out;
}

/**
 * A shell step's `run` and `argv` elements, templated or not: where an author's `::output `
 * lines are tokenised when the step starts (steps/output/output-marker.ts).
 */
export function outputFields(step: BookStep): TemplatedField[] {
  if (step.kind !== 'shell') return [];
  const out: TemplatedField[] = [];
  if (typeof step.run === 'string') out.push({ path: ['run'], source: step.run, mode: STEP_FIELD_MODES.run! });
  if (Array.isArray(step.argv))
    step.argv.forEach((arg, i) => {
      if (typeof arg === 'string') out.push({ path: ['argv', i], source: arg, mode: STEP_FIELD_MODES.argv! });
    });
  return out;
}

/** `serialize` values: rendered once, at job creation. */
export function serializeFields(step: BookStep): TemplatedField[] {
  const out: TemplatedField[] = [];
  if (step.serialize) collect(step.serialize, ['serialize'], 'json', out);
  return out;
}

export function fieldName(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
