// Several local nodes on one embedded database (issue 12): two `quire serve` processes with the
// same QUIRE_DATA_DIR and no DATABASE_URL share one PostgreSQL; a job triggered on one node is
// run and its events reach a socket.io client of the other (LISTEN/NOTIFY, no in-process bus);
// the server outlives the first node to stop and ends with the last.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { runningServer, stopEmbeddedServer } from '../../src/db/embedded-postgres.js';
import { QuireProcess, until } from '../support/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BOOKS = {
  'inventory.yaml':
    'clusters:\n  - name: c1\n    groups:\n      - name: g1\n        deployments:\n          - { name: d1, kind: b }\n          - { name: d2, kind: b }\n',
  'one.book.yaml': 'name: b.one\nkind: b\naction: one\nunique: none\nsteps:\n  - { name: s1, kind: handler, handler: demo.plan-layout }\n',
};

describe('local nodes sharing the embedded PostgreSQL', () => {
  let root: string;
  let dataDir: string;
  const nodes: QuireProcess[] = [];
  const sockets: Socket[] = [];

  const serve = async (name: string) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/quire.js'), 'serve'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: '',
        QUIRE_DATA_DIR: dataDir,
        QUIRE_BOOKS_DIR: join(root, 'books'),
        PORT: '0',
        QUIRE_LOG_LEVEL: 'log',
        QUIRE_POLL_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const node = new QuireProcess(name, 'serve', child);
    nodes.push(node);
    const [, url] = await node.waitForOutput(/listening on (http:\/\/\S+)/, 120_000);
    return { node, url: url! };
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'quire-embedded-nodes-'));
    // As root, PostgreSQL runs as user postgres, which must be able to pass through.
    chmodSync(root, 0o711);
    dataDir = join(root, 'data');
    mkdirSync(join(root, 'books'));
    for (const [file, text] of Object.entries(BOOKS)) writeFileSync(join(root, 'books', file), text);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    for (const node of nodes) await node.kill();
    await stopEmbeddedServer(dataDir, 'immediate');
    rmSync(root, { recursive: true, force: true });
  });

  it('runs a job triggered on one node, tells a client of the other, and stops the server with the last node', async () => {
    const a = await serve('a');
    const b = await serve('b');
    expect(a.node.output()).toMatch(/started the embedded PostgreSQL/);
    expect(b.node.output()).toMatch(/using the embedded PostgreSQL already running/);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const api = async (url: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };

    // A client of node b. Workers poll once a minute here, so the job is claimed through the
    // NOTIFY its trigger sends (the strict NOTIFY check is in embedded.int-spec.ts).
    const socket = io(b.url, { auth: { token }, transports: ['websocket'] });
    sockets.push(socket);
    await until('the socket connected', () => socket.connected, 60_000);
    const events: { job_id: string; type: string; state?: string }[] = [];
    socket.on('deploy_event', (event) => events.push(event));
    const ack = await until('the subscription', () => new Promise((resolve) => socket.emit('subscribe', { all: true }, resolve)), 60_000);
    expect(ack).toMatchObject({ ok: true });

    const triggered = await api(a.url, 'POST', '/api/deployments/d1/actions/one', { params: {} });
    expect(triggered.status).toBe(202);
    const id = triggered.body.job.id as string;
    await until(
      'node b to tell its client the job is done',
      () => events.some((e) => e.job_id === id && e.type === 'job' && e.state === 'done'),
      60_000,
    );

    // The first node leaves; the second keeps the server and works on.
    const pid = runningServer(join(dataDir, 'postgres'))!.pid;
    a.node.signal('SIGTERM');
    await until('node a to exit', () => !a.node.alive, 60_000);
    expect(runningServer(join(dataDir, 'postgres'))?.pid).toBe(pid);
    const second = await api(b.url, 'POST', '/api/deployments/d2/actions/one', { params: {} });
    expect(second.status).toBe(202);
    await until(
      'the second job done',
      async () => (await api(b.url, 'GET', `/api/jobs/${second.body.job.id}`)).body.job.state === 'done',
      60_000,
    );

    // (A connected socket.io client can hold a node's SIGTERM up, issue 8 item 3: not this test's subject.)
    socket.close();
    b.node.signal('SIGTERM');
    await until('node b to exit', () => !b.node.alive, 60_000);
    expect(b.node.output()).toMatch(/stopped the embedded PostgreSQL/);
    expect(runningServer(join(dataDir, 'postgres'))).toBeUndefined();
  }, 400_000);
});
