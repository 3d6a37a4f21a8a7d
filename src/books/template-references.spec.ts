import type { TemplateReference } from '../templates/template.types.js';
import { checkReference, type BookFacts, type TemplateSite } from './template-references.js';

const ref = (dotted: string, extra: Partial<TemplateReference> = {}): TemplateReference => ({
  path: dotted.split('.'),
  line: 1,
  col: 1,
  optional: false,
  inBlock: false,
  ...extra,
});
const facts: BookFacts = { scope: 'deployment', stepNames: ['first', 'second', 'third'], declaredParams: new Set(['release']) };
const inStep = (stepIndex: number, extra: Partial<TemplateSite> = {}): TemplateSite => ({
  time: 'step',
  label: `steps[${stepIndex}]`,
  stepIndex,
  ...extra,
});
const creation: TemplateSite = { time: 'creation', label: 'serialize' };
const check = (dotted: string, site: TemplateSite = inStep(1), f: BookFacts = facts, extra: Partial<TemplateReference> = {}) =>
  checkReference(ref(dotted, extra), site, f);

describe('checkReference', () => {
  it.each([
    'deployment.name',
    'deployment.vars.host.port',
    'deployment',
    'group.vars.x',
    'cluster.id',
    'job.triggered_by',
    'book.version',
    'params.release',
    'steps.first.output.x',
    'steps.first',
  ])('accepts %s in a step', (dotted) => {
    expect(check(dotted)).toBeUndefined();
  });

  it('refuses an unknown root, naming it', () => {
    expect(check('deploy.vars.x')).toBe(
      "unknown template root 'deploy' in {{deploy.vars.x}} (available: deployment, group, cluster, params, job, book, step, steps, secrets)",
    );
  });

  it.each([
    ['deployment.host', 'deployment.host does not exist: deployment has id, name, kind, vars, state'],
    ['group.kind', 'group.kind does not exist: group has id, name, vars'],
    ['job.state', 'job.state does not exist: job has id, action, triggered_by'],
    ['book.kind', 'book.kind does not exist: book has name, version'],
    ['deployment.name.first', 'deployment.name.first does not exist: deployment.name is a plain value'],
  ])('refuses an unknown field: %s', (dotted, message) => {
    expect(check(dotted)).toBe(message);
  });

  it('refuses an undeclared parameter, unless the reference is optional or nothing is declared', () => {
    expect(check('params.relase')).toBe('params.relase is not declared in params (declared: release)');
    expect(check('params.relase', inStep(1), facts, { optional: true })).toBeUndefined();
    expect(check('params.anything', inStep(1), { ...facts, declaredParams: undefined })).toBeUndefined();
  });

  it('allows only earlier steps', () => {
    expect(check('steps.nope.output.x')).toBe('steps.nope does not exist (steps: first, second, third)');
    expect(check('steps.second.output.x')).toBe("steps.second is this step itself: only earlier steps' outputs are available");
    expect(check('steps.third.output.x')).toBe("steps.third comes later (steps[2]): only earlier steps' outputs are available");
    expect(check('steps.first.exit_code')).toBe('steps.first.exit_code does not exist: use steps.first.output.<key>');
  });

  it('keeps steps, step and secrets out of what is rendered at job creation', () => {
    expect(check('steps.first.output.x', creation)).toBe(
      'steps.first.output.x is only available when the step runs; serialize is rendered when the job is created',
    );
    expect(check('step.data.x', creation)).toMatch(/only available when the step runs/);
    expect(check('secrets.token', creation)).toMatch(/only available when the step runs/);
    expect(check('params.release', creation)).toBeUndefined();
  });

  it("lets chain triggers read every step's output but not step data or secrets", () => {
    const chain: TemplateSite = { time: 'chain', label: 'on_success' };
    expect(check('steps.third.output.x', chain)).toBeUndefined();
    expect(check('secrets.token', chain)).toMatch(/only available inside a step/);
  });

  it("checks step.data against the step's serialize", () => {
    expect(check('step.data.dir', inStep(1, { dataKeys: new Set(['dir']) }))).toBeUndefined();
    expect(check('step.data.dri', inStep(1, { dataKeys: new Set(['dir']) }))).toBe(
      "step.data.dri is not in this step's serialize (keys: dir)",
    );
    expect(check('step.data.x', inStep(1, { dataKeys: new Set() }))).toBe('step.data.x does not exist: this step has no serialize');
    expect(check('step.data.x', inStep(1, { dataKeys: 'any' }))).toBeUndefined();
    expect(check('step.output', inStep(1, { dataKeys: 'any' }))).toMatch(/step.output does not exist/);
  });

  it("checks secrets against the step's list", () => {
    expect(check('secrets.TOKEN', inStep(1, { secrets: new Set(['TOKEN']) }))).toBeUndefined();
    expect(check('secrets.OTHER', inStep(1, { secrets: new Set(['TOKEN']) }))).toBe(
      "secrets.OTHER is not listed in this step's secrets (listed: TOKEN)",
    );
    expect(check('secrets.OTHER', inStep(1))).toBe("secrets.OTHER is not listed in this step's secrets (it lists none)");
  });

  it('keeps secrets out of fields whose rendered value is stored as it is', () => {
    const barred = inStep(1, { secrets: new Set(['TOKEN']), noSecrets: 'instructions are stored with the job' });
    expect(check('secrets.TOKEN', barred)).toBe('secrets.TOKEN cannot be used here: instructions are stored with the job');
    expect(check('secrets', barred)).toMatch(/cannot be used here/);
    expect(check('steps.first.output.x', barred)).toBeUndefined();
  });

  it('knows what group and cluster books lack', () => {
    const group = { ...facts, scope: 'group' as const };
    const cluster = { ...facts, scope: 'cluster' as const };
    expect(check('deployment.name', inStep(1), group)).toBe(
      'deployment.name: deployment is not available in a group book, whose jobs carry no deployment',
    );
    expect(check('group.name', inStep(1), group)).toBeUndefined();
    expect(check('group.name', inStep(1), cluster)).toMatch(/group is not available in a cluster book/);
    expect(check('cluster.vars.x', inStep(1), cluster)).toBeUndefined();
  });

  it('checks references inside blocks no further than their root', () => {
    const inBlock = { inBlock: true };
    expect(check('name', inStep(1), facts, inBlock)).toBeUndefined();
    expect(check('deployment.nope', inStep(1), facts, inBlock)).toBeUndefined();
    expect(check('deployment.name', inStep(1), { ...facts, scope: 'group' }, inBlock)).toMatch(/not available/);
  });
});
