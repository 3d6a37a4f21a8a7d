// inventory.yaml (BOOKS.md section 1): its JSON Schema, then the naming rules the schema
// cannot express: cluster and deployment names unique across the file, group names within
// their cluster (loading matches existing records by these names).
import type { BookProblem } from './book.types.js';
import { parseYamlWithLocations, type ParsedYaml, type PathSegment } from './book-parser.js';
import { inventorySchemaValidator } from './book-schema.js';
import type { Inventory, InventoryCluster, InventoryDeployment, InventoryGroup } from './inventory.types.js';
import { hasErrors, makeProblem, sortProblems } from './problem.js';
import { translateSchemaErrors } from './schema-errors.js';
import { isRecord, listOf, type RawRecord } from './semantic-context.js';

export function validateInventorySource(file: string, source: string): { inventory?: Inventory; problems: BookProblem[] } {
  const parsed = parseYamlWithLocations(file, source);
  const value = parsed.value;
  if (!isRecord(value)) return { problems: parsed.problems };
  const validateShape = inventorySchemaValidator();
  const shape = validateShape(value)
    ? []
    : translateSchemaErrors(parsed, value, validateShape.errors ?? [], 'the inventory').problems;
  // the names are checked on a misshapen inventory too, so every problem is reported at once
  const problems = sortProblems([...parsed.problems, ...shape, ...duplicateNames(parsed, value)]);
  return hasErrors(problems) ? { problems } : { inventory: toInventory(value), problems };
}

function duplicateNames(parsed: ParsedYaml, value: RawRecord): BookProblem[] {
  const clusters = new UniqueNames(parsed, 'cluster');
  const deployments = new UniqueNames(parsed, 'deployment');
  for (const [c, cluster] of records(value.clusters)) {
    clusters.add(['clusters', c], cluster.name);
    const groups = new UniqueNames(parsed, 'group', ` in cluster '${String(cluster.name)}'`);
    for (const [g, group] of records(cluster.groups)) {
      groups.add(['clusters', c, 'groups', g], group.name);
      for (const [d, deployment] of records(group.deployments)) {
        deployments.add(['clusters', c, 'groups', g, 'deployments', d], deployment.name);
      }
    }
    clusters.problems.push(...groups.problems);
  }
  return [...clusters.problems, ...deployments.problems];
}

/** The entries of a list that are mappings, with their index; anything else is the schema's to report. */
function records(list: unknown): Array<[number, RawRecord]> {
  return listOf(list).flatMap((item, i): Array<[number, RawRecord]> => (isRecord(item) ? [[i, item]] : []));
}

class UniqueNames {
  readonly problems: BookProblem[] = [];
  private readonly seen = new Map<string, PathSegment[]>();

  constructor(
    private readonly parsed: ParsedYaml,
    private readonly what: string,
    private readonly within = '',
  ) {}

  add(path: PathSegment[], name: unknown): void {
    if (typeof name !== 'string') return;
    const first = this.seen.get(name);
    if (!first) {
      this.seen.set(name, path);
      return;
    }
    const at = [...path, 'name'];
    const firstLine = this.parsed.locate([...first, 'name']).line;
    const message = `duplicate ${this.what} name '${name}'${this.within} (also on line ${firstLine})`;
    this.problems.push(makeProblem(this.parsed.file, this.parsed.locate(at), at, message));
  }
}

function toInventory(value: RawRecord): Inventory {
  return { clusters: listOf(value.clusters).map((c) => toCluster(c as RawRecord)) };
}

function toCluster(c: RawRecord): InventoryCluster {
  return { name: String(c.name), vars: vars(c.vars), groups: listOf(c.groups).map((g) => toGroup(g as RawRecord)) };
}

function toGroup(g: RawRecord): InventoryGroup {
  return { name: String(g.name), vars: vars(g.vars), deployments: listOf(g.deployments).map((d) => toDeployment(d as RawRecord)) };
}

function toDeployment(d: RawRecord): InventoryDeployment {
  return { name: String(d.name), kind: String(d.kind), vars: vars(d.vars) };
}

function vars(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}
