// The keep-alive race of issue 11, reproduced: a pool of 16 API clients triggering jobs for
// minutes, idling between triggers, while worker processes load the box. When the server closes
// an idle keep-alive connection at the moment a client sends on it, the client's fetch fails with
// "other side closed" (or ECONNRESET). The server runs in this process, so that every connection's
// close is recorded with its reason (keep-alive timeout, client closed, error); the clients run in
// a child process with an event loop of their own, kept busy in random bursts as a CI runner's is.
//
//   npm run build && node bench/keepalive-race.mjs [--seconds 120] [--keep-alive 5] [--clients 16] [--workers 2]
//
// --keep-alive 5 is Node's default (what Quire had before), the default here is the config's (65 s).
// The clients send no Idempotency-Key and never retry: every failure is counted.
//
// Measured 2026-12-03 on the shared 2-core box (load about 20), 60 s, 16 clients, 2 workers:
//   --keep-alive 5 --busy-ms 600  --max-idle-ms 7000: 233 triggers, 0 failed (the client closed its idle sockets first)
//   --keep-alive 5 --busy-ms 2500 --max-idle-ms 6000: 169 triggers, 2 failed "UND_ERR_SOCKET other side closed";
//       the server closed 24 idle connections on its keep-alive timer: a client whose loop is blocked
//       past undici's margin sends on a socket the server is closing
//   default (65 s)  --busy-ms 2500 --max-idle-ms 6000: 154 triggers, 0 failed, the server closed none
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, inventory, args, sleep } from './engine-cluster.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

if (process.argv[2] === '--client') await client(JSON.parse(process.argv[3]));
else await main();

/** The pool: `clients` loops trigger, then idle 0..maxIdleMs; the loop is blocked in bursts. */
async function client({ url, token, seconds, clients, deployments, maxIdleMs, busyMs }) {
  const failures = new Map();
  let ok = 0;
  const end = Date.now() + seconds * 1000;
  // A busy client: its timers (undici's idle-socket timer among them) fire late.
  const busy = setInterval(() => {
    const until = Date.now() + Math.random() * busyMs;
    while (Date.now() < until);
  }, 200);
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; Date.now() < end; i++) {
        try {
          const response = await fetch(`${url}/api/deployments/d${1 + ((c + i * clients) % deployments)}/actions/tick`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{"params":{}}',
          });
          await response.text();
          if (response.status === 202 || response.status === 200) ok++;
          else failures.set(`HTTP ${response.status}`, (failures.get(`HTTP ${response.status}`) ?? 0) + 1);
        } catch (error) {
          const cause = error.cause ? `${error.cause.code ?? ''} ${error.cause.message}`.trim() : error.message;
          failures.set(cause, (failures.get(cause) ?? 0) + 1);
        }
        await sleep(Math.random() * maxIdleMs);
      }
    }),
  );
  clearInterval(busy);
  process.stdout.write(`${JSON.stringify({ ok, failures: Object.fromEntries(failures) })}\n`);
}

async function main() {
  const opts = args({ seconds: 120, keepAlive: 65, clients: 16, workers: 2, deployments: 40, maxIdleMs: 7000, busyMs: 600 });
  const cluster = await Cluster.start({
    name: 'keepalive',
    books: {
      'inventory.yaml': inventory('svc', opts.deployments),
      // fork and exec per job: the load a real deployment step puts on the box
      'svc.tick.book.yaml': 'name: svc.tick\nkind: svc\naction: tick\nunique: none\nsteps:\n  - { name: only, kind: shell, run: "sh -c true" }\n',
    },
    env: { QUIRE_CHANNELS: 'default:64' },
  });
  let server;
  try {
    Object.assign(process.env, cluster.env, {
      PORT: '0',
      QUIRE_ENGINE: 'off',
      QUIRE_LOG_LEVEL: 'warn',
      QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: String(opts.keepAlive),
    });
    const { loadConfig } = await import(join(ROOT, 'dist/src/config/config.js'));
    const { startServer } = await import(join(ROOT, 'dist/src/server.js'));
    const write = process.stdout.write;
    process.stdout.write = () => true; // the first admin token
    try {
      server = await startServer(loadConfig());
    } finally {
      process.stdout.write = write;
    }
    const closes = recordCloses(server.app.getHttpServer());
    const token = readFileSync(join(cluster.dataDir, 'admin-token'), 'utf8').trim();
    for (let i = 0; i < opts.workers; i++) await cluster.worker(`w${i + 1}`, { QUIRE_WORKER_CONCURRENCY: '16' });

    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), '--client', JSON.stringify({ url: server.url, token, ...opts })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    await new Promise((resolve) => child.once('exit', resolve));
    const result = JSON.parse(out);
    const failed = Object.values(result.failures).reduce((a, b) => a + b, 0);
    const jobs = await cluster.count(`SELECT count(*)::int AS n FROM jobs`);
    console.log(
      `keep-alive ${opts.keepAlive} s, ${opts.clients} clients for ${opts.seconds} s (idle 0-${opts.maxIdleMs} ms between triggers, ` +
        `client loop blocked up to ${opts.busyMs} ms every 200 ms), ${opts.workers} workers: ${result.ok} triggers answered, ${failed} failed, ${jobs} jobs`,
    );
    for (const [cause, n] of Object.entries(result.failures)) console.log(`  client failure: ${cause} × ${n}`);
    for (const [reason, n] of Object.entries(closes)) console.log(`  server closed connection: ${reason} × ${n}`);
  } finally {
    await server?.close();
    await cluster.close();
  }
}

/**
 * Why each connection ended, seen from the server: its idle keep-alive timer fired (the server
 * closed it), the client closed it (FIN first), or an error (a reset).
 */
function recordCloses(httpServer) {
  const counts = {};
  httpServer.on('connection', (socket) => {
    let reason = null;
    socket.on('timeout', () => (reason ??= 'keep-alive timeout (server closed it idle)'));
    socket.on('end', () => (reason ??= 'client closed it'));
    socket.on('error', (error) => (reason ??= `error ${error.code ?? error.message}`));
    socket.on('close', () => {
      const key = reason ?? 'server shut down';
      counts[key] = (counts[key] ?? 0) + 1;
    });
  });
  return counts;
}
