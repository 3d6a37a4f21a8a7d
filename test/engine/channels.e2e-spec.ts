// What a claim hands out (issue 3, requirement 1), on real worker processes that claim all they
// have room for at once: a channel's capacity holds across workers, higher priority goes first,
// and a book's `lock` makes jobs of different deployments take turns in creation order.
import { QuireCluster, inventory, type QuireProcess } from '../support/processes.js';

// Each run appends "start <t>" and "end <t>" (milliseconds) to a file shared by the book's jobs.
const timed = (file: string, sleep: string) =>
  `echo start $(date +%s%3N) {{job.id}} >> {{deployment.vars.markers}}/${file}; sleep ${sleep}; echo end $(date +%s%3N) {{job.id}} >> {{deployment.vars.markers}}/${file}`;

const BOOKS: Record<string, string> = {
  'ch.narrow.book.yaml': `name: ch.narrow
kind: ch
action: narrow
channel: narrow
steps:
  - { name: only, kind: shell, run: "${timed('narrow', '0.6')}" }
`,
  'ch.urgent.book.yaml': `name: ch.urgent
kind: ch
action: urgent
channel: single
priority: 1
unique: none
steps:
  - { name: only, kind: shell, run: "echo urgent >> {{deployment.vars.markers}}/order" }
`,
  'ch.routine.book.yaml': `name: ch.routine
kind: ch
action: routine
channel: single
priority: 4
unique: none
steps:
  - { name: only, kind: shell, run: "echo routine >> {{deployment.vars.markers}}/order" }
`,
  'ch.migrate.book.yaml': `name: ch.migrate
kind: ch
action: migrate
lock: "db-{{deployment.vars.db}}"
steps:
  - { name: only, kind: shell, run: "${timed('migrate', '0.3')}; echo {{deployment.name}} >> {{deployment.vars.markers}}/migrate.order" }
`,
};

/** The most runs that were in progress at one moment, from start/end lines. */
function maxOverlap(lines: string[]): number {
  const marks = lines.map((l) => l.split(' ')).map(([kind, at]) => ({ at: Number(at), delta: kind === 'start' ? 1 : -1 }));
  marks.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let max = 0;
  for (const m of marks) max = Math.max(max, (now += m.delta));
  return max;
}

describe('engine: channels, priority and book locks', () => {
  let cluster: QuireCluster;
  let workers: QuireProcess[] = [];

  beforeAll(async () => {
    cluster = await QuireCluster.start({
      books: { 'inventory.yaml': inventory('ch', 8, { db: 'main' }), ...BOOKS },
      env: { QUIRE_CHANNELS: 'default:8,narrow:2,single:1' },
    });
    await cluster.serve();
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    workers = [];
  });

  afterAll(async () => {
    await cluster?.close();
  });

  const worker = async (name: string) => {
    const w = await cluster.worker(name);
    workers.push(w);
  };

  const allDone = async (ids: string[]) => {
    for (const id of ids) expect((await cluster.finished(id, 30_000)).state).toBe('done');
  };

  it('a channel of capacity 2 never runs more than 2 jobs, across two workers that claim in batches', async () => {
    const ids = [];
    for (let i = 1; i <= 8; i++) ids.push(await cluster.trigger(`d${i}`, 'narrow'));
    await Promise.all([worker('narrow-a'), worker('narrow-b')]);
    await allDone(ids);
    const lines = cluster.lines('narrow');
    expect(lines).toHaveLength(16);
    expect(maxOverlap(lines)).toBe(2);
  });

  it('priority 1 runs before priority 4 on a busy channel, whatever the creation order', async () => {
    const ids = [];
    for (let i = 1; i <= 3; i++) ids.push(await cluster.trigger(`d${i}`, 'routine'));
    for (let i = 4; i <= 6; i++) ids.push(await cluster.trigger(`d${i}`, 'urgent'));
    await worker('prio');
    await allDone(ids);
    expect(cluster.lines('order')).toEqual(['urgent', 'urgent', 'urgent', 'routine', 'routine', 'routine']);
  });

  it('a book lock shared by different deployments lets one job run at a time, in creation order', async () => {
    const ids = [];
    for (let i = 1; i <= 5; i++) ids.push(await cluster.trigger(`d${i}`, 'migrate'));
    await worker('locks');
    await allDone(ids);
    expect(maxOverlap(cluster.lines('migrate'))).toBe(1);
    expect(cluster.lines('migrate.order')).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
  });
});
