// Runs one command for a shell step or a shell probe: `/bin/sh -c run`, or `argv` without a
// shell. The child leads its own process group (detached: setsid), so an abort can signal the
// whole group: `sh -c 'a & b & wait'` must not leave `a` and `b` running after a cancel.
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { processReaper } from './process-reaper.js';
import { SafeTextDecoder } from '../output/safe-text-decoder.js';

export interface ProcessSpec {
  run?: string;
  argv?: string[];
  cwd?: string;
  env: Record<string, string>;
}

export type ProcessEnd =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: NodeJS.Signals }
  /** the command could not start: missing executable, bad cwd, neither or both of run/argv */
  | { kind: 'spawn-error'; message: string }
  | { kind: 'aborted' };

/** SIGTERM first so tools can clean up (remove lock files, roll back); SIGKILL after this. */
export const KILL_GRACE_MS = 1000;
/**
 * After the main process exits, how long to wait for its stdout/stderr to close. A background
 * process it left behind (`server &`) keeps the pipes open; we stop reading rather than hang
 * the step until the timeout. Such processes are left running (a step may mean to start a
 * server); they only lose their output.
 */
export const EXIT_DRAIN_MS = 500;

/**
 * What a step inherits from the worker's environment: what a command needs to find programs and
 * speak the locale, nothing else. The worker's environment holds DATABASE_URL, QUIRE_TOKEN and
 * every QUIRE_SECRET_*: a step sees only the secrets its book names (BOOKS.md section 4).
 */
export const INHERITED_ENV: readonly string[] = ['PATH', 'HOME', 'LANG', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'TERM'];

function inherited(name: string): boolean {
  return INHERITED_ENV.includes(name) || name.startsWith('LC_');
}

/** Environment for a child: the inherited part of `worker`'s, then `layers` in order (later wins). */
export function childEnvFrom(worker: NodeJS.ProcessEnv, ...layers: Array<Record<string, string> | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(worker)) if (v !== undefined && inherited(k)) env[k] = v;
  for (const layer of layers) Object.assign(env, layer);
  return env;
}

/** Environment for a child of this worker: see `childEnvFrom`. */
export function childEnv(...layers: Array<Record<string, string> | undefined>): Record<string, string> {
  return childEnvFrom(process.env, ...layers);
}

/**
 * Runs the command until it ends or `signal` aborts. `onText` gets decoded, NUL-free text per
 * stream as it arrives; nothing is accumulated here.
 */
export async function runProcess(
  spec: ProcessSpec,
  signal: AbortSignal,
  onText: (text: string, stream: 'stdout' | 'stderr') => void,
): Promise<ProcessEnd> {
  const command = commandOf(spec);
  if (typeof command === 'string') return { kind: 'spawn-error', message: command };
  if (spec.cwd !== undefined) {
    // spawn reports a bad cwd as `spawn /bin/sh ENOENT`, which blames the wrong thing
    const problem = await cwdProblem(spec.cwd);
    if (problem) return { kind: 'spawn-error', message: problem };
  }
  if (signal.aborted) return { kind: 'aborted' };

  let child;
  try {
    child = spawn(command.file, command.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // thrown synchronously for arguments spawn refuses, e.g. NUL bytes in an argument
    return { kind: 'spawn-error', message: `cannot start ${command.file}: ${(err as Error).message}` };
  }
  const proc = child;
  // Should this worker die, the reaper kills the group: no orphan runs beside the step's next attempt.
  const untrack = proc.pid === undefined ? () => undefined : processReaper().track(proc.pid);

  return new Promise<ProcessEnd>((resolve) => {
    let ended: ProcessEnd | undefined;
    let aborted = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    for (const stream of ['stdout', 'stderr'] as const) {
      const decoder = new SafeTextDecoder();
      const pipe = proc[stream];
      pipe.on('data', (bytes: Buffer) => {
        const text = decoder.write(bytes);
        if (text !== '') onText(text, stream);
      });
      pipe.on('end', () => {
        const text = decoder.end();
        if (text !== '') onText(text, stream);
      });
      pipe.on('error', () => undefined); // a pipe destroyed by finish() below
    }

    const killGroup = (sig: NodeJS.Signals): void => {
      if (proc.pid === undefined) return;
      try {
        process.kill(-proc.pid, sig);
      } catch {
        // ESRCH: the group is already gone
      }
    };
    const groupAlive = (): boolean => {
      if (proc.pid === undefined) return false;
      try {
        process.kill(-proc.pid, 0);
        return true;
      } catch {
        return false;
      }
    };

    const onAbort = (): void => {
      aborted = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const finish = (): void => {
      if (!ended) return;
      signal.removeEventListener('abort', onAbort);
      clearTimeout(drainTimer);
      // after an abort, a group member that ignores SIGTERM still gets its SIGKILL
      if (killTimer && !groupAlive()) clearTimeout(killTimer);
      if (killTimer && groupAlive()) setTimeout(untrack, KILL_GRACE_MS + EXIT_DRAIN_MS);
      else untrack();
      proc.stdout.destroy();
      proc.stderr.destroy();
      resolve(aborted ? { kind: 'aborted' } : ended);
    };

    proc.on('error', (err: NodeJS.ErrnoException) => {
      // only spawn failures reach here with no pid; later errors (a failed kill) change nothing
      if (proc.pid !== undefined) return;
      ended = { kind: 'spawn-error', message: spawnMessage(command.file, err) };
      finish();
    });
    proc.on('exit', (code, sig) => {
      ended = sig ? { kind: 'signal', signal: sig } : { kind: 'exit', code: code ?? 0 };
      drainTimer = setTimeout(finish, aborted ? KILL_GRACE_MS + EXIT_DRAIN_MS : EXIT_DRAIN_MS);
    });
    proc.on('close', finish);
  });
}

function commandOf(spec: ProcessSpec): { file: string; args: string[] } | string {
  const hasRun = typeof spec.run === 'string' && spec.run.trim() !== '';
  const hasArgv = Array.isArray(spec.argv);
  if (hasRun && hasArgv) return 'give either `run` or `argv`, not both';
  if (hasRun) return { file: '/bin/sh', args: ['-c', spec.run as string] };
  const [file, ...args] = spec.argv ?? [];
  if (file === undefined || file === '') return hasArgv ? '`argv` needs at least the command' : 'nothing to run: give `run` or `argv`';
  return { file, args };
}

async function cwdProblem(cwd: string): Promise<string | undefined> {
  try {
    if (!(await stat(cwd)).isDirectory()) return `working directory '${cwd}' is not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `working directory '${cwd}' does not exist` : `working directory '${cwd}': ${code ?? String(err)}`;
  }
  return undefined;
}

function spawnMessage(file: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `command not found: ${file}`;
  if (err.code === 'EACCES') return `permission denied: ${file}`;
  return `cannot start ${file}: ${err.message}`;
}
