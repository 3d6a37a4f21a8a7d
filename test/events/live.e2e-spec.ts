// Live events end to end: a job run by a worker process (node B) is watched by socket.io
// clients of an API node (A) that runs no worker; replay with `since`; who may subscribe.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { startTestApp, type TestApp } from '../support/app.js';
import { TokensService } from '../../src/auth/tokens.service.js';

const INVENTORY = `clusters:
  - name: c1
    groups:
      - name: g1
        deployments:
          - { name: app-1, kind: web }
  - name: c2
    groups:
      - name: g2
        deployments:
          - { name: app-2, kind: web }
`;
const BOOK = `name: web.deploy
kind: web
action: deploy
should_notify: true
steps:
  - name: one
    kind: shell
    run: "echo one; sleep 0.4"
  - name: two
    kind: shell
    run: "for i in 1 2 3; do echo tick $i; sleep 0.3; done"
  - name: three
    kind: shell
    run: "echo three"
`;

// `when` false at creation: the job ends done at once, and that outcome notifies.
const SKIPPED_BOOK = `name: web.check
kind: web
action: check
should_notify: true
when: "{{eq deployment.name 'nowhere'}}"
steps:
  - name: look
    kind: shell
    run: "echo look"
`;

interface LiveEvent {
  seq: number;
  type: string;
  state?: string;
  job_id: string;
  step_id: string | null;
  step_name?: string;
  progress?: { done_steps: number; total_steps: number; eta_s: number };
}

/** The portal's socket.io client (a browser module, untyped); the part this test drives. */
const PORTAL_LIVE_JS: string = '../../src/portal/static/live.js';
interface PortalChannel {
  start(): Promise<void>;
  subscribe(target: object, options?: { since?: number }): void;
  close(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | false, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('live deploy events over socket.io', () => {
  let app: TestApp;
  let worker: ChildProcess;
  let booksDir: string;
  const sockets: Socket[] = [];

  const connect = (token: string, extra: Record<string, unknown> = {}) => {
    const socket = io(app.url, { auth: { token }, transports: ['websocket'], reconnection: false, ...extra });
    sockets.push(socket);
    return socket;
  };
  const connected = (socket: Socket) =>
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => reject(error));
    });
  const subscribe = (socket: Socket, target: Record<string, unknown>) =>
    new Promise<{ ok: boolean; error?: string }>((resolve) => socket.emit('subscribe', target, resolve));
  const trigger = async (deployment: string, action = 'deploy') =>
    (await app.api('POST', `/api/deployments/${deployment}/actions/${action}`, {})).body.job.id as string;
  const jobDone = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const { job } = (await app.api('GET', `/api/jobs/${id}`)).body;
      if (['done', 'error', 'cancel'].includes(job.state)) return job;
      await sleep(100);
    }
    throw new Error(`job ${id} did not end`);
  };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-live-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    writeFileSync(join(booksDir, 'web.deploy.book.yaml'), BOOK);
    writeFileSync(join(booksDir, 'web.check.book.yaml'), SKIPPED_BOOK);
    app = await startTestApp({ booksDir, engine: false, env: { QUIRE_TOKEN_RECHECK_SECONDS: '1' } });
    worker = spawn('node', ['bin/quire.js', 'worker'], {
      env: { ...process.env, DATABASE_URL: app.database!.url, QUIRE_DATA_DIR: app.dataDir, QUIRE_LOG_LEVEL: 'warn', QUIRE_POLL_MS: '200' },
      stdio: 'ignore',
      detached: true,
    });
  });

  afterAll(async () => {
    sockets.forEach((s) => s.close());
    if (worker?.pid) {
      try {
        process.kill(-worker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it('delivers every event of a job run on another node, in seq order, and a reconnect with `since` misses nothing', async () => {
    const watcher = connect(app.token);
    const seen: LiveEvent[] = [];
    watcher.on('deploy_event', (e: LiveEvent) => seen.push(e));
    await connected(watcher);
    expect(await subscribe(watcher, { deployment: 'app-1' })).toMatchObject({ ok: true });

    // A second client leaves after the first step starts, and comes back with its last seq.
    const flaky = connect(app.token);
    const flakySeen: LiveEvent[] = [];
    flaky.on('deploy_event', (e: LiveEvent) => flakySeen.push(e));
    await connected(flaky);
    await subscribe(flaky, { deployment: 'app-1' });

    const notifications: { job_id: string; state: string }[] = [];
    watcher.on('notification', (n) => notifications.push(n));
    const jobId = await trigger('app-1');
    await until('the first step to run', () => flakySeen.some((e) => e.type === 'step' && e.state === 'running'));
    flaky.close();
    const lastSeen = Math.max(...flakySeen.map((e) => e.seq));
    await sleep(700);
    const back = connect(app.token);
    back.on('deploy_event', (e: LiveEvent) => flakySeen.push(e));
    await connected(back);
    expect(await subscribe(back, { deployment: 'app-1', since: lastSeen })).toMatchObject({ ok: true });

    const job = await jobDone(jobId);
    expect(job.state).toBe('done');
    await until('the job done event', () => seen.some((e) => e.type === 'job' && e.state === 'done'));
    await sleep(300);

    const mine = seen.filter((e) => e.job_id === jobId);
    const seqs = mine.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const states = mine.filter((e) => e.type !== 'output').map((e) => `${e.type}:${e.step_name ?? ''}:${e.state}`);
    expect(states).toEqual([
      'job::scheduled',
      'job::running',
      'step:one:running',
      'step:one:done',
      'step:two:running',
      'step:two:done',
      'step:three:running',
      'step:three:done',
      'job::done',
    ]);
    expect(mine.filter((e) => e.type === 'step' && e.state === 'done').map((e) => e.progress?.done_steps)).toEqual([1, 2, 3]);
    expect(mine.some((e) => e.type === 'output')).toBe(true);

    const flakyMine = flakySeen.filter((e) => e.job_id === jobId).map((e) => e.seq);
    expect(flakyMine).toEqual(seqs);
    expect(notifications.filter((n) => n.job_id === jobId)).toEqual([expect.objectContaining({ state: 'done' })]);
  });

  it('filters a subscription by event type, live and in replay, and refuses an unknown type', async () => {
    const jobsOnly = connect(app.token);
    const live: LiveEvent[] = [];
    jobsOnly.on('deploy_event', (e: LiveEvent) => live.push(e));
    await connected(jobsOnly);
    expect(await subscribe(jobsOnly, { all: true, types: ['job'] })).toMatchObject({ ok: true });
    expect(await subscribe(jobsOnly, { all: true, types: ['chunks'] })).toMatchObject({ ok: false, error: expect.stringContaining('types must be') });
    const jobId = await trigger('app-2');
    expect((await jobDone(jobId)).state).toBe('done');
    await until('the job done event', () => live.some((e) => e.job_id === jobId && e.state === 'done'));
    await sleep(300);
    const mine = live.filter((e) => e.job_id === jobId);
    expect(mine.map((e) => `${e.type}:${e.state}`)).toEqual(['job:scheduled', 'job:running', 'job:done']);

    const replayer = connect(app.token);
    const replayed: LiveEvent[] = [];
    replayer.on('deploy_event', (e: LiveEvent) => replayed.push(e));
    await connected(replayer);
    expect(await subscribe(replayer, { job: jobId, since: 0, types: ['step'] })).toMatchObject({ ok: true });
    await until('the replay', () => replayed.length >= 6);
    expect(new Set(replayed.map((e) => e.type))).toEqual(new Set(['step']));
    expect(replayed.map((e) => `${e.step_name}:${e.state}`)).toEqual(['one:running', 'one:done', 'two:running', 'two:done', 'three:running', 'three:done']);
  });

  it('a should_notify job skipped at creation (`when` false) sends its notification', async () => {
    const watcher = connect(app.token);
    const notifications: { job_id: string; state: string; title: string }[] = [];
    watcher.on('notification', (n) => notifications.push(n));
    await connected(watcher);
    expect(await subscribe(watcher, { deployment: 'app-1' })).toMatchObject({ ok: true });
    const jobId = await trigger('app-1', 'check');
    expect((await app.api('GET', `/api/jobs/${jobId}`)).body.job.state).toBe('done');
    await until('its notification', () => notifications.find((n) => n.job_id === jobId));
    expect(notifications.filter((n) => n.job_id === jobId)).toEqual([
      expect.objectContaining({ state: 'done', title: 'check on app-1: done' }),
    ]);
  });

  it('an event whose transaction commits late still reaches live clients; a replay racing the feed neither repeats nor reorders', async () => {
    const { deployment } = (await app.api('GET', '/api/deployments/app-1')).body;
    const jobId = randomUUID();
    const mine = (list: LiveEvent[]) => (e: LiveEvent) => e.job_id === jobId && list.push(e);
    const liveSeen: LiveEvent[] = [];
    const replaySeen: LiveEvent[] = [];
    const live = connect(app.token);
    live.on('deploy_event', mine(liveSeen));
    const replaying = connect(app.token);
    replaying.on('deploy_event', mine(replaySeen));
    await Promise.all([connected(live), connected(replaying)]);
    expect(await subscribe(live, { deployment: 'app-1' })).toMatchObject({ ok: true });

    const db = new pg.Client({ connectionString: app.database!.url });
    const slow = new pg.Client({ connectionString: app.database!.url });
    await Promise.all([db.connect(), slow.connect()]);
    const insert = `INSERT INTO deploy_events (type, job_id, deployment_id, cluster_id, payload)`;
    try {
      // One insert stays uncommitted; 6,000 after it commit at once (more than a connection
      // remembers having sent), and a client replays from before the gap while the feed waits at it.
      await slow.query('BEGIN');
      const held = Number(
        (
          await slow.query(`${insert} VALUES ('output', $1, $2, $3, '{"data":{"chunk":"late"}}') RETURNING seq`, [
            jobId,
            deployment.id,
            deployment.cluster_id,
          ])
        ).rows[0].seq,
      );
      await db.query(
        `${insert} SELECT 'output', $1, $2, $3, jsonb_build_object('data', jsonb_build_object('chunk', i::text)) FROM generate_series(1, 6000) i`,
        [jobId, deployment.id, deployment.cluster_id],
      );
      expect(await subscribe(replaying, { deployment: 'app-1', since: held - 1 })).toMatchObject({ ok: true });
      await until('both clients to have the committed events', () => liveSeen.length >= 6000 && replaySeen.length >= 6000);
      await sleep(1500); // the feed has long passed the missing seq
      await slow.query('COMMIT');
      await until('the late event', () => liveSeen.some((e) => e.seq === held) && replaySeen.some((e) => e.seq === held), 10_000);
      await sleep(1500); // nothing more comes

      const expected = (
        await db.query(`SELECT seq FROM deploy_events WHERE job_id = $1 AND seq <> $2 ORDER BY seq`, [jobId, held])
      ).rows.map((r) => Number(r.seq));
      expect(expected).toHaveLength(6000);
      for (const seen of [liveSeen, replaySeen]) {
        const seqs = seen.map((e) => e.seq);
        // In order and once each; the late one comes after them, once.
        expect(seqs.filter((q) => q !== held)).toEqual(expected);
        expect(seqs.filter((q) => q === held)).toHaveLength(1);
        expect(seqs[seqs.length - 1]).toBe(held);
      }
    } finally {
      await slow.end();
      await db.end();
    }
  });

  it('pages a long replay: the ack says `more` with the last seq, and the portal pages on it', async () => {
    const { deployment } = (await app.api('GET', '/api/deployments/app-2')).body;
    const jobId = randomUUID();
    const db = new pg.Client({ connectionString: app.database!.url });
    await db.connect();
    const insert = async (count: number) =>
      (
        await db.query(
          `INSERT INTO deploy_events (type, job_id, deployment_id, cluster_id, payload)
           SELECT 'output', $1, $2, $3, '{}' FROM generate_series(1, $4::int) RETURNING seq`,
          [jobId, deployment.id, deployment.cluster_id, count],
        )
      ).rows
        .map((r) => Number(r.seq))
        .sort((a, b) => a - b);

    // The portal's client, run here with the real socket.io client in place of the browser's.
    (globalThis as any).window = { io: (options: object) => io(app.url, { ...options, transports: ['websocket'] }) };
    const { LiveChannel } = (await import(PORTAL_LIVE_JS)) as { LiveChannel: new (options: object) => PortalChannel };
    const received: number[] = [];
    let caughtUp = false;
    const channel = new LiveChannel({
      token: app.token,
      onEvent: (e: LiveEvent) => e.job_id === jobId && received.push(e.seq),
      onCaughtUp: () => (caughtUp = true),
    });
    try {
      const seqs = await insert(20_500);
      await sleep(1500); // the feed has delivered them: a replay reads them all
      const since = seqs[0]! - 1;

      const socket = connect(app.token);
      await connected(socket);
      expect(await subscribe(socket, { deployment: 'app-2', since })).toMatchObject({
        ok: true,
        replayed: 20000,
        more: true,
        last_seq: seqs[19999],
      });
      expect(await subscribe(socket, { deployment: 'app-2', since: seqs[19999] })).toMatchObject({ ok: true, replayed: 500, more: false });

      await channel.start();
      channel.subscribe({ deployment: deployment.id }, { since });
      await until('the portal to catch up', () => caughtUp, 20_000);
      expect(received).toEqual(seqs);
      // Live once the last page is in.
      const [next] = await insert(1);
      await until('the next event, live', () => received.includes(next!), 10_000);
    } finally {
      channel.close();
      delete (globalThis as any).window;
      await db.end();
    }
  });

  it('refuses a bad token at the handshake and a foreign Origin', async () => {
    await expect(connected(connect('not-a-token'))).rejects.toThrow(/unauthorized/);
    await expect(connected(connect(app.token, { extraHeaders: { origin: 'http://evil.example' } }))).rejects.toThrow();
    await expect(connected(connect(app.token, { extraHeaders: { origin: new URL(app.url).origin } }))).resolves.toBeUndefined();
  });

  it('closes the open connection of a token revoked after its handshake, and only that one', async () => {
    const { token, record } = await app.server.app.get(TokensService).create('soon revoked', 'viewer');
    const doomed = connect(token);
    const kept = connect(app.token);
    const reasons: { doomed?: string; kept?: string } = {};
    doomed.on('disconnect', (reason) => (reasons.doomed = reason));
    kept.on('disconnect', (reason) => (reasons.kept = reason));
    await Promise.all([connected(doomed), connected(kept)]);
    expect(await subscribe(doomed, { deployment: 'app-1' })).toMatchObject({ ok: true });
    await sleep(1200); // a recheck passes: the token is still good
    expect(doomed.connected).toBe(true);

    await app.server.database.dataSource.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [record.id]);
    await until('the revoked connection to close', () => reasons.doomed, 5000);
    expect(reasons).toEqual({ doomed: 'io server disconnect' });
    expect(kept.connected).toBe(true);
    // And it cannot come back.
    await expect(connected(connect(token))).rejects.toThrow(/unauthorized/);
  });

  it('lets a viewer scoped to one cluster subscribe there only, and filters `all` by cluster', async () => {
    const c2 = (await app.api('GET', '/api/clusters/c2')).body.cluster;
    const { token } = await app.server.app.get(TokensService).create('c2 viewer', 'viewer', [c2.id]);
    const viewer = connect(token);
    const seen: LiveEvent[] = [];
    viewer.on('deploy_event', (e: LiveEvent) => seen.push(e));
    await connected(viewer);
    expect(await subscribe(viewer, { cluster: 'c1' })).toMatchObject({ ok: false, error: expect.stringContaining('forbidden') });
    expect(await subscribe(viewer, { deployment: 'app-1' })).toMatchObject({ ok: false });
    expect(await subscribe(viewer, { cluster: 'c2' })).toMatchObject({ ok: true });
    expect(await subscribe(viewer, { all: true })).toMatchObject({ ok: true });
    const hidden = await trigger('app-1');
    const visible = await trigger('app-2');
    await jobDone(hidden);
    await jobDone(visible);
    await until('the visible job to finish', () => seen.some((e) => e.job_id === visible && e.type === 'job' && e.state === 'done'));
    expect(seen.some((e) => e.job_id === hidden)).toBe(false);
  });
});
