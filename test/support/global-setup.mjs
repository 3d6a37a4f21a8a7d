// `npm test` with nothing but Node (issue 12): unless QUIRE_TEST_PGURL names a PostgreSQL to use
// (CI's system server, a developer's own), start a throwaway real PostgreSQL for this run from
// the embedded binaries, in a temporary directory that global-teardown.mjs stops and removes.
// A run that never reaches the teardown (Ctrl-C, a crash) is cleaned up twice over: a small
// reaper process stops the server and removes the directory as soon as this jest process is
// gone, and the next run removes directories whose jest process is dead.
//
// Jest runs this file untransformed, so it loads the launcher from dist/ (built by `npm ci`;
// the multi-process tests run dist/ too) and rebuilds it first if src/ is newer.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = join(ROOT, 'src/db/embedded-postgres.ts');
const BUILT = join(ROOT, 'dist/src/db/embedded-postgres.js');
export const PREFIX = 'quire-test-pg-';

export async function loadLauncher() {
  if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < statSync(SOURCE).mtimeMs) {
    console.log('\n[global setup] dist/ is older than src/db/embedded-postgres.ts: npm run build');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
      stdio: 'inherit',
    });
  }
  return import(BUILT);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Servers and directories of earlier runs whose jest process died before its teardown. */
export async function removeStale(launcher) {
  for (const name of readdirSync(tmpdir())) {
    const match = name.startsWith(PREFIX) && /^(\d+)-/.exec(name.slice(PREFIX.length));
    if (!match || alive(Number(match[1]))) continue;
    const dir = join(tmpdir(), name);
    await launcher.stopEmbeddedServer(dir, 'immediate').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function globalSetup() {
  if (process.env.QUIRE_TEST_PGURL) return;
  const launcher = await loadLauncher();
  await removeStale(launcher);
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  const started = Date.now();
  const server = await launcher.startEmbeddedPostgres(dir, {
    // Throwaway data: durability buys nothing here and costs the tests time. Test files run in
    // parallel, each with app pools, LISTEN connections and engine processes of its own.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 400 },
  });
  spawn(process.execPath, [join(ROOT, 'test/support/pg-reaper.mjs'), String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  }).unref();
  const url = new URL(server.adminUrl);
  url.pathname = '/';
  process.env.QUIRE_TEST_PGURL = url.toString();
  globalThis.__quireTestPostgres = { dir, server };
  console.log(
    `\n[global setup] throwaway PostgreSQL on ${url.host} in ${dir} (${Date.now() - started} ms); set QUIRE_TEST_PGURL to use another`,
  );
}
