#!/usr/bin/env node
// Event latency: from a state change (the event row's `at`) to its receipt by socket.io
// clients, with 100 clients connected, against the floor of a bare PostgreSQL NOTIFY → LISTEN
// round trip measured in the same run. Prints p50/p99 and the ratio. Stops by itself.
//   node bench/event-latency.mjs [--clients 100] [--jobs 20] [--steps 5]
// BENCH_CLOCK=1 times from the event row's insert rather than from its transaction's start.
// Needs `npm run build` and PostgreSQL at $PGURL (default postgres://postgres@127.0.0.1:5432).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { io } from 'socket.io-client';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 100);
const JOBS = arg('jobs', 20);
const STEPS = arg('steps', 5);
const PGURL = process.env.PGURL ?? 'postgres://postgres@127.0.0.1:5432';
const DB = 'quire_bench_events';
const PORT = 18900 + Math.floor(Math.random() * 50);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

async function notifyFloor(url, rounds = 300) {
  const listener = new pg.Client({ connectionString: url });
  const sender = new pg.Client({ connectionString: url });
  await listener.connect();
  await sender.connect();
  await listener.query('LISTEN bench_floor');
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const got = new Promise((resolve) => listener.once('notification', resolve));
    await sender.query(`NOTIFY bench_floor, '${i}'`);
    await got;
    samples.push(performance.now() - t0);
  }
  await listener.end();
  await sender.end();
  return samples;
}

const admin = new pg.Client({ connectionString: `${PGURL}/postgres` });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${DB}`);
await admin.end();
const dbUrl = `${PGURL}/${DB}`;

const dir = mkdtempSync(join(tmpdir(), 'quire-bench-'));
writeFileSync(join(dir, 'inventory.yaml'), `clusters:\n  - name: bench\n    groups:\n      - name: g\n        deployments:\n${Array.from({ length: JOBS }, (_, i) => `          - { name: d${i}, kind: bench }`).join('\n')}\n`);
writeFileSync(
  join(dir, 'bench.run.book.yaml'),
  `name: bench.run\nkind: bench\naction: run\nsteps:\n${Array.from({ length: STEPS }, (_, i) => `  - { name: s${i}, kind: shell, run: "echo step ${i}" }`).join('\n')}\n`,
);
const server = spawn('node', ['bin/quire.js', 'serve'], {
  env: { ...process.env, PORT: String(PORT), DATABASE_URL: dbUrl, QUIRE_BOOKS_DIR: dir, QUIRE_DATA_DIR: dir, QUIRE_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
const stop = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
};
const deadline = setTimeout(() => {
  console.error('bench: time limit reached');
  stop();
  process.exit(1);
}, 180_000);

try {
  const base = `http://127.0.0.1:${PORT}`;
  for (let i = 0; i < 100 && !existsSync(join(dir, 'admin-token')); i++) await sleep(200);
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${base}/health`).catch(() => null))?.ok) break;
    await sleep(200);
  }
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const floor = await notifyFloor(dbUrl);
  if (process.env.BENCH_CLOCK) {
    // Measure from the event row's insert instead of its transaction's start.
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    await c.query('ALTER TABLE deploy_events ALTER COLUMN at SET DEFAULT clock_timestamp()');
    await c.end();
  }

  const latencies = [];
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const socket = io(base, { auth: { token }, transports: ['websocket'] });
      await new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      await new Promise((resolve) => socket.emit('subscribe', { all: true }, resolve));
      socket.on('deploy_event', (event) => latencies.push(Date.now() - Date.parse(event.at)));
      return socket;
    }),
  );
  const t0 = Date.now();
  const ids = [];
  for (let i = 0; i < JOBS; i++) {
    const r = await fetch(`${base}/api/deployments/d${i}/actions/run`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    ids.push((await r.json()).job.id);
  }
  for (const id of ids) {
    for (;;) {
      const { job } = await (await fetch(`${base}/api/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } })).json();
      if (['done', 'error', 'cancel'].includes(job.state)) break;
      await sleep(100);
    }
  }
  await sleep(1500);
  clients.forEach((c) => c.close());
  const events = latencies.length / CLIENTS;
  console.log(`event latency, ${CLIENTS} socket.io clients, ${JOBS} jobs × ${STEPS} steps, ${Math.round(events)} events each, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`  quire state change → client:   p50 ${pct(latencies, 50).toFixed(1)} ms   p99 ${pct(latencies, 99).toFixed(1)} ms   (${latencies.length} receipts)`);
  console.log(`  bare NOTIFY → LISTEN (floor):  p50 ${pct(floor, 50).toFixed(2)} ms   p99 ${pct(floor, 99).toFixed(2)} ms`);
  console.log(`  ratio quire/floor:             p50 ${(pct(latencies, 50) / pct(floor, 50)).toFixed(1)}×   p99 ${(pct(latencies, 99) / pct(floor, 99)).toFixed(1)}×`);
} finally {
  clearTimeout(deadline);
  stop();
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
}
