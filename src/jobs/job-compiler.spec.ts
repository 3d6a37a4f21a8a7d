// Every valid book fixture compiles into a job snapshot against a target from the fixtures'
// inventory: a book that validates but cannot be triggered is a bug of the validator.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../books/book-schema.js';
import { validateBookSource } from '../books/book-validator.js';
import { validationContext } from '../books/books.service.js';
import { validateInventorySource } from '../books/inventory-validator.js';
import type { Book } from '../books/book.types.js';
import type { Inventory } from '../books/inventory.types.js';
import type { DeploymentTarget } from '../inventory/inventory.service.js';
import type { ClusterEntity } from '../inventory/cluster.entity.js';
import type { GroupEntity } from '../inventory/group.entity.js';
import type { DeploymentEntity } from '../inventory/deployment.entity.js';
import { handlerRegistry } from '../steps/demo.handlers.js';
import { compileJob, foreseeWhen } from './job-compiler.js';

const VALID = join(packageRoot(), 'test', 'fixtures', 'books', 'valid');

/** Parameters for books whose schema requires some; the others compile with none. */
const PARAMS: Record<string, Record<string, unknown>> = {
  'postgres.deploy': { version: '15.2' },
  'shop.group-rollout': { change: 'tls-1.3' },
};

/** Every record of the inventory as a trigger would load it, with made-up ids. */
function targets(inventory: Inventory): DeploymentTarget[] {
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const out: DeploymentTarget[] = [];
  for (const c of inventory.clusters) {
    const cluster = { id: id(), name: c.name, vars: c.vars ?? {} } as ClusterEntity;
    out.push({ deployment: null, group: null, cluster });
    for (const g of c.groups ?? []) {
      const group = { id: id(), name: g.name, vars: g.vars ?? {}, cluster_id: cluster.id } as GroupEntity;
      out.push({ deployment: null, group, cluster });
      for (const d of g.deployments ?? []) {
        const deployment = {
          id: id(),
          name: d.name,
          kind: d.kind,
          vars: d.vars ?? {},
          state: 'draft',
          group_id: group.id,
          cluster_id: cluster.id,
        };
        out.push({ deployment: deployment as DeploymentEntity, group, cluster });
      }
    }
  }
  return out;
}

/** The target a trigger of this book would find: by deployment kind, or by `vars.kind` of a group or cluster. */
function targetFor(book: Book, all: DeploymentTarget[]): DeploymentTarget | undefined {
  const scope = book.scope ?? 'deployment';
  const found = all.find((t) =>
    scope === 'deployment'
      ? t.deployment?.kind === book.kind
      : scope === 'group'
        ? !t.deployment && t.group?.vars.kind === book.kind
        : !t.group && t.cluster?.vars.kind === book.kind,
  );
  // a deployment in a state the book may start from
  const state = book.allowed_from?.[0];
  return found?.deployment && state ? { ...found, deployment: { ...found.deployment, state } } : found;
}

describe('compiling the valid book fixtures', () => {
  const { inventory, problems } = validateInventorySource('inventory.yaml', readFileSync(join(VALID, 'inventory.yaml'), 'utf8'));
  const all = inventory ? targets(inventory) : [];
  const files = readdirSync(VALID)
    .filter((f) => f.endsWith('.book.yaml'))
    .sort();

  it('has an inventory and books to compile', () => {
    expect(problems).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)('%s compiles into a job for a target of its inventory', async (file) => {
    const validation = validateBookSource(file, readFileSync(join(VALID, file), 'utf8'), validationContext());
    const book = validation.book!;
    expect(book).toBeDefined();
    const target = targetFor(book, all);
    if (!target) throw new Error(`no ${book.scope ?? 'deployment'} of kind '${book.kind}' in valid/inventory.yaml for ${file}`);
    const job = await compileJob({
      bookVersion: {
        id: `v-${book.name}`,
        name: book.name,
        hash: validation.hash!,
        author_version: book.version ?? null,
        definition: book,
      },
      target,
      params: PARAMS[book.name] ?? {},
      triggeredBy: 'test',
      history: new Map(),
      learnMinSamples: 3,
      handlers: handlerRegistry,
    });
    expect(job.steps.map((s) => s.name)).toEqual(book.steps.map((s) => s.name));
    expect([job.book_name, job.action, job.scope]).toEqual([book.name, book.action, book.scope ?? 'deployment']);
    expect(job.deployment_id).toBe(target.deployment?.id ?? null);
    for (const step of job.steps) {
      expect(step.estimated_duration).toBeGreaterThan(0);
      expect(step.timeout).toBeGreaterThanOrEqual(step.estimated_duration);
      // serialize is frozen at creation: nothing left to render
      expect(JSON.stringify(step.data)).not.toContain('{{');
    }
    expect(job.eta_s).toBeGreaterThan(0);
  });
});

describe('foreseeWhen', () => {
  const context = {
    params: { notify: false, env: 'prod' },
    deployment: { id: 'd', name: 'web', kind: 'app', vars: {}, state: 'draft' },
  } as never;
  const step = (when: string, secrets?: string[]) => ({ name: 's', kind: 'shell' as const, run: 'true', when, secrets });

  it('decides a when on params, the target and step.data when the job is created', () => {
    expect(foreseeWhen(step('{{params.notify}}'), context, {}, new Set())).toBe(false);
    expect(foreseeWhen(step("{{eq params.env 'prod'}}"), context, {}, new Set())).toBe(true);
    expect(foreseeWhen(step('{{step.data.go}}'), context, { go: true }, new Set())).toBe(true);
  });

  it('decides a when on a secret by whether it is configured, never by its value', () => {
    const when = "{{ne (default secrets.token '') ''}}";
    expect(foreseeWhen(step(when, ['token']), context, {}, new Set())).toBe(false);
    expect(foreseeWhen(step(when, ['token']), context, {}, new Set(['token']))).toBe(true);
    // a secret the step does not list is not given to its when, at creation as at run time
    expect(foreseeWhen(step(when), context, {}, new Set(['token']))).toBe(false);
  });

  it('leaves a when on earlier outputs, or one that cannot render yet, undecided', () => {
    expect(foreseeWhen(step('{{steps.a.output.go}}'), context, {}, new Set())).toBeUndefined();
    expect(foreseeWhen(step("{{default steps.a.output.go ''}}"), context, {}, new Set())).toBeUndefined();
    expect(foreseeWhen(step('{{secrets.token}}', ['token']), context, {}, new Set())).toBeUndefined();
  });
});
