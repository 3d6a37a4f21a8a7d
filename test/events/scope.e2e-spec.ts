// Issue 8 item 1: a viewer limited to cluster `other` is handed no event of another cluster by
// any path: the replay of `{ all: true, since: 0 }`, its `more` pages, live events, and the
// `notification`s derived from them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { connectSocket } from '../support/sockets.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TokensService } from '../../src/auth/tokens.service.js';
import { mainAndOtherInventory } from '../support/books.js';
import { sleep, until } from '../support/processes.js';

const INVENTORY = mainAndOtherInventory();
const BOOK = `name: web.deploy
kind: web
action: deploy
should_notify: true
steps:
  - name: one
    kind: shell
    run: "echo secret-of-$QUIRE_DEPLOYMENT"
`;

interface Event {
  seq: number;
  type: string;
  state?: string;
  job_id: string;
  cluster_id: string | null;
}
interface Answer {
  ok: boolean;
  replayed?: number;
  more?: boolean;
  last_seq?: number;
  error?: string;
}

describe('event scope: a token limited to one cluster', () => {
  let app: TestApp;
  let booksDir: string;
  let main: { id: string };
  let other: { id: string };
  let viewerToken: string;
  const sockets: Socket[] = [];

  const connect = (token: string) => connectSocket(app.url, token, sockets);
  const subscribe = (socket: Socket, target: Record<string, unknown>) =>
    new Promise<Answer>((resolve) => socket.emit('subscribe', target, resolve));
  const runJob = async (deployment: string) => {
    const id = (await app.api('POST', `/api/deployments/${deployment}/actions/deploy`, {})).body.job.id as string;
    return until(`job ${id} to end`, async () => {
      const { job } = (await app.api('GET', `/api/jobs/${id}`)).body;
      return ['done', 'error', 'cancel'].includes(job.state) ? (id as string) : undefined;
    });
  };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-scope-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    writeFileSync(join(booksDir, 'web.deploy.book.yaml'), BOOK);
    app = await startTestApp({ booksDir, env: { QUIRE_POLL_MS: '200' } });
    main = (await app.api('GET', '/api/clusters/main')).body.cluster;
    other = (await app.api('GET', '/api/clusters/other')).body.cluster;
    viewerToken = (await app.server.app.get(TokensService).create('other viewer', 'viewer', [other.id])).token;
  });

  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it('replays `{ all: true, since: 0 }` without a single event or notification of another cluster', async () => {
    const hidden = await runJob('app-main');
    const shown = await runJob('app-other');

    const viewer = await connect(viewerToken);
    const events: Event[] = [];
    const notifications: { job_id: string }[] = [];
    viewer.on('deploy_event', (e: Event) => events.push(e));
    viewer.on('notification', (n: { job_id: string }) => notifications.push(n));
    const answer = await subscribe(viewer, { all: true, since: 0 });
    expect(answer).toMatchObject({ ok: true, more: false });
    await until('the visible job to be replayed', () => events.some((e) => e.job_id === shown && e.state === 'done'));

    expect(events.filter((e) => e.cluster_id !== other.id)).toEqual([]);
    expect(events.some((e) => e.job_id === hidden)).toBe(false);
    expect(answer.replayed).toBe(events.length);
    expect(notifications.map((n) => n.job_id)).toEqual([shown]);

    // Live: a job in `main` now reaches the unscoped admin, never the viewer.
    const admin = await connect(app.token);
    const adminSeen: Event[] = [];
    admin.on('deploy_event', (e: Event) => adminSeen.push(e));
    expect(await subscribe(admin, { all: true })).toMatchObject({ ok: true });
    const later = await runJob('app-main');
    await until('the admin to see the later job end', () => adminSeen.some((e) => e.job_id === later && e.state === 'done'));
    const shownLater = await runJob('app-other');
    await until('the viewer to see its own later job end', () => events.some((e) => e.job_id === shownLater && e.state === 'done'));
    expect(events.filter((e) => e.cluster_id !== other.id)).toEqual([]);
    expect(notifications.map((n) => n.job_id)).toEqual([shown, shownLater]);
  }, 90_000);

  it('pages a long replay (`more`) over its own cluster only, filtered in the query', async () => {
    // More stored events than one replay page holds (20,000), nearly all of another cluster,
    // written the way the event store writes them. The viewer's pages hold only its own.
    const db = app.server.database.dataSource;
    const [{ start }] = (await db.query('SELECT COALESCE(max(seq), 0) AS start FROM deploy_events')) as [{ start: string }];
    await db.query(
      `INSERT INTO deploy_events (type, cluster_id, payload)
       SELECT 'job', CASE WHEN i % 1000 = 0 THEN $2::uuid ELSE $1::uuid END, '{"state":"done","note":"bulk"}'::jsonb FROM generate_series(1, 25000) i`,
      [main.id, other.id],
    );
    // Let the feed pass the new rows first, so they are replayed, not sent live.
    const admin = await connect(app.token);
    const adminSeen: Event[] = [];
    admin.on('deploy_event', (e: Event) => adminSeen.push(e));
    expect(await subscribe(admin, { all: true })).toMatchObject({ ok: true });
    await db.query(`INSERT INTO deploy_events (type, cluster_id, payload) VALUES ('job', $1, '{"state":"done","note":"marker"}')`, [
      main.id,
    ]);
    await until('the feed to pass the bulk rows', () => adminSeen.some((e) => (e as unknown as { note?: string }).note === 'marker'));

    const viewer = await connect(viewerToken);
    const events: Event[] = [];
    viewer.on('deploy_event', (e: Event) => events.push(e));
    let since = Number(start);
    let pages = 0;
    for (;;) {
      const answer = await subscribe(viewer, { all: true, since });
      expect(answer.ok).toBe(true);
      pages++;
      if (!answer.more) break;
      since = answer.last_seq!;
    }
    expect(pages).toBe(1);
    await sleep(300);
    expect(events.filter((e) => e.cluster_id !== other.id)).toEqual([]);
    expect(events).toHaveLength(25);
  }, 90_000);
});
