// Events reach clients at commit, not in seq order: an event whose transaction commits while an
// older seq's transaction is still open is delivered without waiting for it; the older one
// follows when it commits, once, also to a client that reconnected in between with `since`.
// The events are written as EventsService.record writes them (the row in the NOTIFY payload).
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

/**
 * The old feed waited GAP_WAIT_MS (1000 ms) for a missing seq before passing it; a held
 * transaction is committed as soon as the newer event arrives, or after this long: below that
 * wait, so on the old feed the newer event always came second.
 */
const HOLD_MS = 900;

describe('events at commit, out of seq order', () => {
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

  it('delivers a commit at once past an older open transaction, and the older one once when it commits, also after a reconnect with `since`', async () => {
    const { deployment } = (await app.api('GET', '/api/deployments/app-1')).body;
    const jobId = randomUUID();
    const record = (client: pg.Client, chunk: string) =>
      client
        .query(
          `WITH e AS (INSERT INTO deploy_events (type, job_id, deployment_id, cluster_id, payload)
             VALUES ('output', $1, $2, $3, jsonb_build_object('data', jsonb_build_object('chunk', $4::text))) RETURNING *)
           SELECT seq, pg_notify('quire_events', ${notifyPayload('e')}) FROM e`,
          [jobId, deployment.id, deployment.cluster_id, chunk],
        )
        .then((r) => Number(r.rows[0].seq));
    const [slow, slower, fast] = [await db(), await db(), await db()];
    const seen: LiveEvent[] = [];
    const watcher = await connect(seen, jobId);
    expect(await subscribe(watcher, { deployment: 'app-1' })).toMatchObject({ ok: true });
    const arrived = async (seq: number) => {
      for (let t0 = Date.now(); Date.now() - t0 < HOLD_MS; await sleep(10)) if (seen.some((e) => e.seq === seq)) return;
    };

    // 1. A newer commit reaches the client while the older transaction is still open.
    await slow.query('BEGIN');
    const older = await record(slow, 'older');
    const newer = await record(fast, 'newer');
    expect(newer).toBeGreaterThan(older);
    await arrived(newer);
    await slow.query('COMMIT');
    for (let i = 0; i < 200 && !seen.some((e) => e.seq === older); i++) await sleep(50);
    expect(seen.map((e) => e.seq)).toEqual([newer, older]);

    // 2. The client leaves after the newer event of another such pair and comes back with it as
    // `since` while the older is still open: it gets the older one when it commits, once, and
    // nothing it had.
    await slower.query('BEGIN');
    const older2 = await record(slower, 'older 2');
    const newer2 = await record(fast, 'newer 2');
    await arrived(newer2);
    watcher.close();
    const back: LiveEvent[] = [];
    const returning = await connect(back, jobId);
    expect(await subscribe(returning, { deployment: 'app-1', since: Math.max(...seen.map((e) => e.seq)) })).toMatchObject({ ok: true });
    await slower.query('COMMIT');
    for (let i = 0; i < 200 && !back.some((e) => e.seq === older2); i++) await sleep(50);
    await sleep(1500); // a poll (1 s) passes: nothing more comes
    expect(seen.map((e) => e.seq)).toEqual([newer, older, newer2]);
    expect(back.map((e) => e.seq)).toEqual([older2]);
    expect(back[0]!.data?.chunk).toBe('older 2');
  });

  it('carries an event too large for a NOTIFY payload by its seq, read back', async () => {
    const { deployment } = (await app.api('GET', '/api/deployments/app-1')).body;
    const jobId = randomUUID();
    const seen: LiveEvent[] = [];
    const socket = await connect(seen, jobId);
    expect(await subscribe(socket, { deployment: 'app-1' })).toMatchObject({ ok: true });
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
});
