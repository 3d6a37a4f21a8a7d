// Step processes run in process groups of their own, so that cancel and timeouts reach their
// whole tree; the same detachment lets them outlive a worker that is SIGKILLed or crashes, and
// the new owner of the job would then run the step a second time beside the orphan. The reaper
// is a small `sh`, started once per worker process in a group of its own, reading a pipe from
// the worker that it never writes to: when the worker dies, the pipe ends, and the reaper kills
// every process group still registered in its directory (one empty file per group, named by its
// id, created when a step starts and removed when it has ended), then removes the directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = `while read -r _; do :; done
for f in "$1"/*; do
  [ -e "$f" ] && kill -9 "-\${f##*/}" 2>/dev/null
done
rm -rf "$1"`;

export class ProcessReaper {
  private constructor(private readonly dir: string) {}

  static start(): ProcessReaper {
    const dir = mkdtempSync(join(tmpdir(), `quire-reaper-${process.pid}-`));
    // PATH only: the reaper needs nothing else, and outlives the worker for a moment.
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'quire-reaper', dir], {
      detached: true,
      env: process.env.PATH ? { PATH: process.env.PATH } : {},
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // Neither the reaper nor its pipe keeps this process alive: its own exit is what the reaper waits for.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    child.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    return new ProcessReaper(dir);
  }

  /** Registers a process group; the returned function forgets it once the group is gone. */
  track(pgid: number): () => void {
    const file = join(this.dir, String(pgid));
    try {
      writeFileSync(file, '');
    } catch {
      return () => undefined; // the directory went away: nothing to clean up later either
    }
    return () => rmSync(file, { force: true });
  }
}

let reaper: ProcessReaper | undefined;

/** This process's reaper, started on first use. */
export function processReaper(): ProcessReaper {
  reaper ??= ProcessReaper.start();
  return reaper;
}
