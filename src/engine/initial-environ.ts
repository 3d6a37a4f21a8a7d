// Erasing variables from the environment block the kernel shows as /proc/<pid>/environ.
//
// `delete process.env.X` (unsetenv) only drops libc's pointer to "X=value": the text stays where
// execve put it, at the top of the stack, and /proc/<pid>/environ is a plain read of that
// region (mm->env_start .. env_end, fields 50 and 51 of /proc/<pid>/stat). Any process of the
// same user, a step included, can read it. Linux lets a process write its own memory through
// /proc/self/mem, so the bytes of each entry are overwritten with NULs in place; the region
// keeps its size and the other entries stay readable where libc expects them.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

export type EraseResult = { erased: string[] } | { unsupported: string };

/** The [start, end) addresses of this process's initial environment block, or why not known. */
function environRegion(): { start: number; end: number } | string {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return 'no /proc/self/stat (not Linux)';
  }
  // comm (field 2) may hold spaces and parentheses: count fields after its last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  // user-space addresses stay below 2^47, well inside a double's exact range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start <= 0 || end <= start) return 'env_start/env_end not shown in /proc/self/stat';
  return { start, end };
}

/**
 * Overwrites, in the initial environment block, every `NAME=...` entry whose NAME `matches`.
 * Call it after those names are gone from `process.env`: a pointer libc still held would then
 * read an empty string. Best effort: where /proc/self/mem cannot be written (not Linux, a
 * kernel built to refuse it), says why and changes nothing.
 */
export function eraseFromInitialEnviron(matches: (name: string) => boolean): EraseResult {
  const region = environRegion();
  if (typeof region === 'string') return { unsupported: region };
  let fd: number;
  try {
    fd = openSync('/proc/self/mem', 'r+');
  } catch (error) {
    return { unsupported: `cannot open /proc/self/mem: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  try {
    const block = Buffer.alloc(region.end - region.start);
    readSync(fd, block, 0, block.length, region.start);
    const erased: string[] = [];
    for (let at = 0; at < block.length; ) {
      let nul = block.indexOf(0, at);
      if (nul === -1) nul = block.length;
      const entry = block.toString('latin1', at, nul);
      const eq = entry.indexOf('=');
      if (eq > 0 && matches(entry.slice(0, eq))) {
        // one write per entry: the pages around the block are not ours to rewrite
        writeSync(fd, Buffer.alloc(nul - at), 0, nul - at, region.start + at);
        erased.push(entry.slice(0, eq));
      }
      at = nul + 1;
    }
    return { erased };
  } catch (error) {
    return { unsupported: `cannot rewrite the environment block: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  } finally {
    closeSync(fd);
  }
}
