// Started detached by global-setup.mjs: waits for the jest process to end, then stops its
// throwaway PostgreSQL and removes its directory, so that an interrupted run (Ctrl-C, a crash,
// kill) leaves nothing behind. After a normal run the teardown has done it already.
//   node test/support/pg-reaper.mjs <jest pid> <directory>
import { existsSync, rmSync } from 'node:fs';
import { loadLauncher } from './global-setup.mjs';

const [pid, dir] = [Number(process.argv[2]), process.argv[3]];
const alive = () => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};
while (alive() && existsSync(dir)) await new Promise((r) => setTimeout(r, 1000));
if (existsSync(dir)) {
  const launcher = await loadLauncher();
  await launcher.stopEmbeddedServer(dir, 'immediate').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
