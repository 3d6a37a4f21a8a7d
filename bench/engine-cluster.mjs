// Shared by the engine benchmarks and the soak: a database of its own, a temp tree with books,
// and `quire serve` / `quire worker` processes, each in its own process group, all killed on
// close (and on exit, whatever happens). Plain node: the benchmarks are never jest tests.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/quire.js');
/** The Node flags of the `quire` command's first line (`#!/usr/bin/env -S node ...`): measured as users run it. */
export const BIN_NODE_FLAGS = readFileSync(BIN, 'utf8').split('\n')[0].replace(/^#!.*?\bnode\b\s*/, '').split(/\s+/).filter(Boolean);
export const ADMIN_URL = process.env.PGURL ?? process.env.QUIRE_TEST_PGURL ?? 'postgres://postgres@127.0.0.1:5432';

export const sleep = (ms) => delay(ms);

const live = new Set();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

function urlFor(database) {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: urlFor('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function until(what, probe, ms = 60_000, every = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

export class Proc {
  constructor(name, role, child) {
    this.name = name;
    this.role = role;
    this.child = child;
    this.pid = child.pid;
    this.buffer = '';
    this.exitStatus = null;
    const append = (chunk) => {
      this.buffer += chunk.toString('utf8');
      if (this.buffer.length > 1 << 20) this.buffer = this.buffer.slice(-(1 << 19));
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    live.add(this.pid);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(this.pid);
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      }),
    );
  }

  get alive() {
    return this.exitStatus === null;
  }

  async waitFor(pattern, ms = 30_000) {
    return until(
      `${this.name} to print ${pattern}`,
      () => {
        if (!this.alive) throw new Error(`${this.name} exited: ${this.buffer.slice(-3000)}`);
        return this.buffer.match(pattern);
      },
      ms,
      50,
    );
  }

  async kill(signal = 'SIGKILL') {
    if (!this.alive) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // gone
    }
    await this.exited;
  }
}

/** A database, a books tree (`{{markers}}` replaced) and the processes on it. */
export class Cluster {
  static async start({ books, env = {}, name = 'bench' }) {
    const database = `quire_${name}_${randomBytes(4).toString('hex')}`;
    await admin(`CREATE DATABASE ${database}`);
    const root = mkdtempSync(join(tmpdir(), `quire-${name}-`));
    const cluster = new Cluster(database, root, env);
    for (const dir of [cluster.booksDir, cluster.dataDir, cluster.markers]) mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(books))
      writeFileSync(join(cluster.booksDir, file), text.replaceAll('{{markers}}', cluster.markers));
    return cluster;
  }

  constructor(database, root, env) {
    this.database = database;
    this.url = urlFor(database);
    this.root = root;
    this.booksDir = join(root, 'books');
    this.dataDir = join(root, 'data');
    this.markers = join(root, 'markers');
    this.processes = [];
    this.db = new pg.Pool({ connectionString: this.url, max: 4, application_name: 'quire-bench-probe' });
    this.db.on('error', () => undefined);
    this.env = {
      DATABASE_URL: this.url,
      QUIRE_BOOKS_DIR: this.booksDir,
      QUIRE_DATA_DIR: this.dataDir,
      QUIRE_LEASE_SECONDS: '15',
      QUIRE_HEARTBEAT_SECONDS: '1',
      QUIRE_POLL_MS: '1000',
      QUIRE_LOG_LEVEL: 'log',
      ...env,
    };
  }

  /** `nodeArgs` go before the script (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  spawn(role, name, env = {}, nodeArgs = []) {
    const base = {};
    for (const key of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'USER']) if (process.env[key]) base[key] = process.env[key];
    const child = spawn(process.execPath, [...BIN_NODE_FLAGS, ...nodeArgs, BIN, role], {
      cwd: ROOT,
      env: { ...base, NO_COLOR: '1', QUIRE_WORKER_ID: name, ...this.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new Proc(name, role, child);
    this.processes.push(proc);
    return proc;
  }

  /** `quire serve` with the engine off unless asked: the workers are the bench's. */
  async serve({ engine = false, env = {} } = {}) {
    const proc = this.spawn('serve', 'api', { PORT: '0', QUIRE_ENGINE: engine ? 'on' : 'off', ...env });
    const [, url] = await proc.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    this.servePid = proc.pid;
    const tokenFile = join(this.dataDir, 'admin-token');
    await until('the admin token', () => existsSync(tokenFile));
    this.apiUrl = url;
    this.token = readFileSync(tokenFile, 'utf8').trim();
    // keep-alive agent: thousands of triggers
    return proc;
  }

  async worker(name, env = {}, nodeArgs = []) {
    if (!['warn', 'error'].includes(env.QUIRE_LOG_LEVEL)) {
      const proc = this.spawn('worker', name, env, nodeArgs);
      await proc.waitFor(/worker \S+ started/);
      return proc;
    }
    // Quiet: no start line to wait for. Ready once its LISTEN connection is in, one worker at a
    // time so that the count tells them apart.
    const listening = () => this.count(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'quire-listen'`);
    this.starting = (this.starting ?? Promise.resolve()).then(async () => {
      const before = await listening();
      const proc = this.spawn('worker', name, env, nodeArgs);
      await until(`worker ${name} to listen`, async () => (await listening()) > before, 60_000, 50);
      return proc;
    });
    return this.starting;
  }

  async api(method, path, body) {
    const response = await fetch(this.apiUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async trigger(deployment, action, params = {}) {
    const { status, body } = await this.api('POST', `/api/deployments/${deployment}/actions/${action}`, { params });
    if (status !== 202 && status !== 200) throw new Error(`trigger ${deployment} ${action}: ${status} ${JSON.stringify(body)}`);
    return body.job.id;
  }

  /** Triggers `count` jobs, `parallel` requests at a time; `target(i)` gives [deployment, action, params]. */
  async triggerMany(count, target, parallel = 16) {
    const ids = new Array(count);
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          const i = next++;
          const [deployment, action, params] = target(i);
          ids[i] = await this.trigger(deployment, action, params);
        }
      }),
    );
    return ids;
  }

  async count(sql, params = []) {
    return (await this.db.query(sql, params)).rows[0].n;
  }

  /** Kills step processes left behind by killed workers (their command lines name the temp tree). */
  killStrays() {
    const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
      if (!m || !m[3].includes(this.root) || m[3].startsWith('ps ')) continue;
      const [pid, pgid] = [Number(m[1]), Number(m[2])];
      if (pid === process.pid) continue;
      try {
        process.kill(pgid === pid ? -pid : pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  async close() {
    await Promise.all(this.processes.map((p) => p.kill()));
    this.killStrays();
    await this.db.end().catch(() => undefined);
    await admin(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`).catch((e) => console.error(`drop ${this.database}: ${e.message}`));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** `count` deployments d1.. of `kind`, each with the markers directory as a var. */
export function inventory(kind, count) {
  const deployments = Array.from(
    { length: count },
    (_, i) => `          - { name: d${i + 1}, kind: ${kind}, vars: { markers: "{{markers}}" } }`,
  ).join('\n');
  return `clusters:\n  - name: c1\n    groups:\n      - name: g1\n        deployments:\n${deployments}\n`;
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function args(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) {
      console.error(
        `unknown option ${argv[i]}; options: ${Object.keys(defaults)
          .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)
          .join(' ')}`,
      );
      process.exit(2);
    }
    out[key] = typeof defaults[key] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  return out;
}
