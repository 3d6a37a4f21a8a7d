import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './book-schema.js';
import { formatProblem } from './book-validator.js';
import { loadBooksDir, validatePaths } from './book-loader.js';
import { validateInventorySource } from './inventory-validator.js';

const ctx = {
  handlers: new Set(['demo.plan-layout', 'demo.render-config', 'demo.verify']),
  serializeHandlers: new Set(['demo.pick-port']),
};
const VALID = join(packageRoot(), 'test', 'fixtures', 'books', 'valid');
const book = (name: string) => `name: ${name}\nkind: demo\naction: ${name}\nsteps:\n  - name: a\n    kind: shell\n    run: "true"\n`;

describe('loadBooksDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quire-books-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the fixtures: books and inventory', async () => {
    const { books, inventory, problems } = await loadBooksDir(VALID, ctx);
    expect(problems.map(formatProblem)).toEqual([]);
    expect(books.map((b) => b.book.name)).toEqual(['core.cluster-check', 'demo.everything', 'postgres.deploy', 'shop.group-rollout']);
    expect(inventory).toEqual({
      clusters: [
        {
          name: 'eu-1',
          vars: { region: 'eu-west' },
          groups: [
            {
              name: 'shop',
              vars: {},
              deployments: [{ name: 'shop-db', kind: 'postgres', vars: { host: '10.0.0.5', registry_url: 'http://registry.internal' } }],
            },
          ],
        },
        expect.objectContaining({ name: 'lab', vars: { kind: 'core-cluster', api_host: 'api.lab.internal' } }),
      ],
    });
  });

  it('reads books in subfolders, sorted, and ignores other files', async () => {
    await mkdir(join(dir, 'b', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'b', 'deeper', 'one.book.yaml'), book('one'));
    await writeFile(join(dir, 'a.book.yaml'), book('two'));
    await writeFile(join(dir, 'notes.yaml'), 'not: a book\n');
    const { books, inventory, problems } = await loadBooksDir(dir, ctx);
    expect(problems).toEqual([]);
    expect(inventory).toBeUndefined();
    expect(books.map((b) => [b.file, b.book.name])).toEqual([
      [join(dir, 'a.book.yaml'), 'two'],
      [join(dir, 'b', 'deeper', 'one.book.yaml'), 'one'],
    ]);
  });

  it('finds duplicates across subfolders and reports inventory problems with their place', async () => {
    await mkdir(join(dir, 'x'));
    await writeFile(join(dir, 'x', 'one.book.yaml'), book('same'));
    await writeFile(join(dir, 'two.book.yaml'), book('same'));
    await writeFile(join(dir, 'inventory.yaml'), 'clusters:\n  - name: c\n    colour: red\n');
    const { books, problems } = await loadBooksDir(dir, ctx);
    expect(books).toEqual([]);
    expect(problems.map((p) => `${p.file.slice(dir.length + 1)}:${p.line}: ${p.message}`)).toEqual([
      "inventory.yaml:3: unknown key 'colour' in clusters[0]",
      "two.book.yaml:1: duplicate book name 'same': also in " + join(dir, 'x', 'one.book.yaml') + ':1',
      "two.book.yaml:3: duplicate action 'same' for kind 'demo': also in " + join(dir, 'x', 'one.book.yaml') + ':3',
      "x/one.book.yaml:1: duplicate book name 'same': also in " + join(dir, 'two.book.yaml') + ':1',
      "x/one.book.yaml:3: duplicate action 'same' for kind 'demo': also in " + join(dir, 'two.book.yaml') + ':3',
    ]);
  });
});

describe('validatePaths', () => {
  it('takes files and directories, and reports a missing path', async () => {
    const result = await validatePaths([join(VALID, 'postgres-deploy.book.yaml'), join(VALID, 'inventory.yaml'), '/no/such/place'], ctx);
    expect(result.books.map((b) => b.book.name)).toEqual(['postgres.deploy']);
    expect(result.inventories).toHaveLength(1);
    expect(result.problems.map(formatProblem)).toEqual(['/no/such/place:1:1: no such file or directory']);
  });

  it('validates a whole directory', async () => {
    const result = await validatePaths([VALID], ctx);
    expect(result.problems).toEqual([]);
    expect(result.books).toHaveLength(4);
    expect(result.inventories.map((i) => i.inventory.clusters[0]?.name)).toEqual(['eu-1']);
  });
});

describe('validateInventorySource', () => {
  it('requires unique cluster and deployment names, and group names within a cluster', () => {
    const source = [
      'clusters:', //                    1
      '  - name: eu', //                 2
      '    groups:', //                  3
      '      - name: g', //              4
      '        deployments:', //         5
      '          - { name: d1, kind: k }', // 6
      '      - name: g', //              7
      '        deployments:', //         8
      '          - { name: d1, kind: k }', // 9
      '  - name: us', //                 10
      '    groups:', //                  11
      '      - name: g', //              12
      '  - name: eu', //                 13
      '',
    ].join('\n');
    const { inventory, problems } = validateInventorySource('inventory.yaml', source);
    expect(inventory).toBeUndefined();
    expect(problems.map(formatProblem)).toEqual([
      "inventory.yaml:7:15: duplicate group name 'g' in cluster 'eu' (also on line 4)",
      "inventory.yaml:9:21: duplicate deployment name 'd1' (also on line 6)",
      "inventory.yaml:13:11: duplicate cluster name 'eu' (also on line 2)",
    ]);
  });

  it('requires a kind on deployments and names everywhere', () => {
    const { problems } = validateInventorySource(
      'i.yaml',
      'clusters:\n  - name: c\n    groups:\n      - deployments:\n          - name: d\n',
    );
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      "4: clusters[0].groups[0] is missing 'name'",
      "5: clusters[0].groups[0].deployments[0] is missing 'kind'",
    ]);
  });

  it('reports duplicate names and schema problems together', () => {
    const source = [
      'clusters:', //                          1
      '  - name: eu', //                       2
      '    colour: blue', //                   3
      '    groups:', //                        4
      '      - name: g', //                    5
      '        deployments:', //               6
      '          - { name: d1 }', //           7
      '          - { name: d1, kind: k }', //  8
      '          - 5', //                      9
      '  - name: eu', //                       10
      '  - null', //                           11
      '',
    ].join('\n');
    expect(validateInventorySource('i.yaml', source).problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      "3: unknown key 'colour' in clusters[0]",
      "7: clusters[0].groups[0].deployments[0] is missing 'kind'",
      "8: duplicate deployment name 'd1' (also on line 7)",
      '9: clusters[0].groups[0].deployments[2] must be a mapping (key: value) (got 5)',
      "10: duplicate cluster name 'eu' (also on line 2)",
      '11: clusters[2] must be a mapping (key: value) (got nothing)',
    ]);
  });

  it('accepts an empty inventory', () => {
    expect(validateInventorySource('i.yaml', 'clusters: []\n')).toEqual({ inventory: { clusters: [] }, problems: [] });
  });
});
