// The embedded default database: PGlite (PostgreSQL compiled to WASM) served over the wire
// protocol on 127.0.0.1, so the same `pg` driver, migrations and SQL serve both modes.
// Single node only: NOTIFY does not cross PGlite connections (DESIGN.md "Running it"), so
// wake-ups and fan-out use the in-process bus in this mode.
import { mkdirSync, openSync, closeSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One process owns the data directory at a time: PGlite has no multi-process access. */
function takeOwnership(dataDir: string): () => void {
  const lockFile = join(dataDir, 'pglite.pid');
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, 'utf8'));
    if (pid && pid !== process.pid && processAlive(pid)) {
      throw new Error(
        `the embedded database in ${dataDir} is in use by process ${pid}; stop it, or set DATABASE_URL to share a PostgreSQL between processes`,
      );
    }
  }
  const fd = openSync(lockFile, 'w', 0o600);
  writeFileSync(fd, String(process.pid));
  closeSync(fd);
  return () => rmSync(lockFile, { force: true });
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = takeOwnership(dataDir);
  const db = await PGlite.create(join(dataDir, 'pgdata'));
  // Port 0: the OS picks a free port, so several checkouts can run side by side.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
      release();
    },
  };
}
