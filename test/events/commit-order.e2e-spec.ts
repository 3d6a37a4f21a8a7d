// Events reach clients in seq order: an event whose transaction commits while an older seq's
// transaction is still open waits for it (up to the feed's GAP_WAIT_MS, 1000 ms), and both come
// in seq order, once, also to a client that reconnected in between with `since` (the last seq
// it saw must be a position every older event is behind). Past the wait the newer one goes out
// and the older one follows late, once. The events are written as EventsService.record writes
// them (the row in the NOTIFY payload).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { startTestApp, type TestApp } from '../support/app.js';
import { notifyPayload } from '../../src/events/events.service.js';

const INVENTORY = `clusters:
  - name: c1
    groups:
      - name: g1
        deployments:
          - { name: app-1, kind: web }
`;

interface LiveEvent {
  seq: number;
  job_id: string;
  data?: { chunk?: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (events: LiveEvent[], seq: number) => {
  for (let i = 0; i < 200 && !events.some((e) => e.seq === seq); i++) await sleep(50);
};

/** One output event, written and notified as EventsService.record does (the row in the payload, or its seq when too large). */
const recordOutput = (client: pg.Client, jobId: string, deployment: { id: string; cluster_id: string }, chunk: string) =>
  client
    .query(
      `WITH e AS (INSERT INTO deploy_events (type, job_id, deployment_id, cluster_id, payload)
         VALUES ('output', $1, $2, $3, jsonb_build_object('data', jsonb_build_object('chunk', $4::text))) RETURNING *)
       SELECT seq, pg_notify('quire_events', ${notifyPayload('e')}) FROM e`,
      [jobId, deployment.id, deployment.cluster_id, chunk],
    )
    .then((r) => Number(r.rows[0].seq));

/**
 * How long the older transaction stays open past the newer commit: well below the feed's
 * GAP_WAIT_MS (1000 ms), and long enough that a feed delivering at commit sends the newer first.
 */
const HOLD_MS = 250;
/** Past GAP_WAIT_MS: the newer event goes out without the older one. */
const HOLD_PAST_GAP_MS = 1600;

describe('events in seq order across transactions committing out of it', () => {
  let app: TestApp;
  let booksDir: string;
  const sockets: Socket[] = [];
  const clients: pg.Client[] = [];

  const connect = async (events: LiveEvent[], jobId: string) => {
    const socket = io(app.url, { auth: { token: app.token }, transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    socket.on('deploy_event', (e: LiveEvent) => e.job_id === jobId && events.push(e));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  };
  const subscribe = (socket: Socket, target: Record<string, unknown>) =>
    new Promise<{ ok: boolean }>((resolve) => socket.emit('subscribe', target, resolve));
  const db = async () => {
    const client = new pg.Client({ connectionString: app.database!.url });
    clients.push(client);
    await client.connect();
    return client;
  };
  /** A client subscribed to app-1, keeping the events of a new job id. */
  const watchNewJob = async () => {
    const { deployment } = (await app.api('GET', '/api/deployments/app-1')).body;
    const jobId = randomUUID();
    const seen: LiveEvent[] = [];
    const socket = await connect(seen, jobId);
    expect(await subscribe(socket, { deployment: 'app-1' })).toMatchObject({ ok: true });
    return { deployment, jobId, seen, socket };
  };

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-order-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), INVENTORY);
    app = await startTestApp({ booksDir, engine: false });
  });

  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  it('holds a commit behind an older open transaction and delivers both in seq order, once, also after a reconnect with `since`', async () => {
    const { deployment, jobId, seen, socket: watcher } = await watchNewJob();
    const record = (client: pg.Client, chunk: string) => recordOutput(client, jobId, deployment, chunk);
    const [slow, slower, slowest, fast] = [await db(), await db(), await db(), await db()];

    // 1. The newer commit waits for the older transaction, which commits within the gap wait.
    await slow.query('BEGIN');
    const older = await record(slow, 'older');
    const newer = await record(fast, 'newer');
    expect(newer).toBeGreaterThan(older);
    await sleep(HOLD_MS);
    await slow.query('COMMIT');
    await until(seen, newer);
    expect(seen.map((e) => e.seq)).toEqual([older, newer]);

    // 2. The client leaves while the newer event of another such pair is held, and comes back
    // with the last seq it saw as `since`: once the older commits, it gets both, in order, once.
    await slower.query('BEGIN');
    const older2 = await record(slower, 'older 2');
    const newer2 = await record(fast, 'newer 2');
    await sleep(HOLD_MS / 2);
    watcher.close();
    const back: LiveEvent[] = [];
    const returning = await connect(back, jobId);
    expect(await subscribe(returning, { deployment: 'app-1', since: Math.max(...seen.map((e) => e.seq)) })).toMatchObject({ ok: true });
    await slower.query('COMMIT');
    await until(back, newer2);
    await sleep(1500); // a poll (1 s) passes: nothing more comes
    expect(seen.map((e) => e.seq)).toEqual([older, newer]);
    expect(back.map((e) => [e.seq, e.data?.chunk])).toEqual([
      [older2, 'older 2'],
      [newer2, 'newer 2'],
    ]);

    // 3. An older transaction open past the gap wait: the newer event goes out without it, the
    // older one follows late when it commits, once.
    await slowest.query('BEGIN');
    const older3 = await record(slowest, 'older 3');
    const newer3 = await record(fast, 'newer 3');
    await sleep(HOLD_PAST_GAP_MS);
    await until(back, newer3);
    expect(back.map((e) => e.seq)).toEqual([older2, newer2, newer3]);
    await slowest.query('COMMIT');
    await until(back, older3);
    await sleep(1500);
    expect(back.map((e) => e.seq)).toEqual([older2, newer2, newer3, older3]);
  });

  it('carries an event too large for a NOTIFY payload by its seq, read back', async () => {
    const { deployment, jobId, seen } = await watchNewJob();
    const client = await db();
    const big = 'x'.repeat(20_000);
    const { rows } = await client.query(
      `WITH e AS (INSERT INTO deploy_events (type, job_id, deployment_id, cluster_id, payload)
         VALUES ('output', $1, $2, $3, jsonb_build_object('data', jsonb_build_object('chunk', $4::text))) RETURNING *)
       SELECT seq, ${notifyPayload('e')} AS payload FROM e`,
      [jobId, deployment.id, deployment.cluster_id, big],
    );
    expect(rows[0].payload).toBe(String(rows[0].seq));
    await client.query(`SELECT pg_notify('quire_events', $1)`, [String(rows[0].seq)]);
    for (let i = 0; i < 200 && seen.length === 0; i++) await sleep(50);
    expect(seen.map((e) => [e.seq, e.data?.chunk?.length])).toEqual([[Number(rows[0].seq), big.length]]);
  });

  it('passes a rolled-back seq after the gap wait, and keeps seq order behind a row read back', async () => {
    const { deployment, jobId, seen } = await watchNewJob();
    const [rolledBack, writer] = [await db(), await db()];

    // A rolled-back insert never fills its seq: the event above it goes out after the wait.
    await rolledBack.query('BEGIN');
    const never = await recordOutput(rolledBack, jobId, deployment, 'rolled back');
    const after = await recordOutput(writer, jobId, deployment, 'after the rollback');
    await rolledBack.query('ROLLBACK');
    await until(seen, after);
    expect(never).toBeLessThan(after);

    // A row too large for its notification is read back; the one after it, carried in its
    // notification, comes second all the same.
    const big = await recordOutput(writer, jobId, deployment, 'x'.repeat(20_000));
    const small = await recordOutput(writer, jobId, deployment, 'small');
    await until(seen, small);
    await sleep(1500); // a poll passes: nothing more comes
    expect(seen.map((e) => [e.seq, e.data?.chunk?.length])).toEqual([
      [after, 'after the rollback'.length],
      [big, 20_000],
      [small, 'small'.length],
    ]);
  });
});
