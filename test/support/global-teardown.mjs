// Stops and removes the throwaway PostgreSQL that global-setup.mjs started, if it started one.
import { rmSync } from 'node:fs';
import { loadLauncher } from './global-setup.mjs';

export default async function globalTeardown() {
  const started = globalThis.__quireTestPostgres;
  if (!started) return;
  const launcher = await loadLauncher();
  await started.server.stop().catch(() => undefined);
  // Whatever a test left connected does not keep it alive.
  await launcher.stopEmbeddedServer(started.dir, 'immediate');
  rmSync(started.dir, { recursive: true, force: true });
  delete globalThis.__quireTestPostgres;
}
