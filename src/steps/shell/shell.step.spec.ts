// Real processes, no mocks: the point is how /bin/sh, pipes and signals actually behave.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_RETRY, TEST_OUTPUT_TOKEN, testRun } from '../testing/step-run.fixture.js';
import { ShellStepExecutor } from './shell.step.js';

const shell = new ShellStepExecutor();

/** Live (non-zombie) processes in a process group, per `ps`. */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, stat]) => Number(group) === pgid && stat !== undefined && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

async function waitFor(predicate: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('shell step', () => {
  it('runs `run` with /bin/sh and streams output; exit 0 is done', async () => {
    const run = testRun({ kind: 'shell', run: 'echo out; echo err >&2; echo "$((1+2))"' });
    expect(await shell.execute(run)).toEqual({ outcome: 'done', outputs: {} });
    expect(run.text().split('\n').sort()).toEqual(['', '3', 'err', 'out']);
  });

  it('fails with the exit code and the last lines of output', async () => {
    const run = testRun({ kind: 'shell', run: 'echo one; echo two; echo three >&2; exit 3' });
    expect(await shell.execute(run)).toEqual({ outcome: 'failed', message: 'exit code 3: two\nthree', exitCode: 3 });
  });

  it('retries an exit code listed in retry_on_exit_codes', async () => {
    const run = testRun({ kind: 'shell', run: 'exit 75' }, { retry: { ...NO_RETRY, max_attempts: 3, retry_on_exit_codes: [75] } });
    expect(await shell.execute(run)).toEqual({ outcome: 'retry', message: 'exit code 75', exitCode: 75 });
  });

  it('reports death by signal', async () => {
    const run = testRun({ kind: 'shell', run: 'kill -KILL $$' });
    expect(await shell.execute(run)).toEqual({ outcome: 'failed', message: 'killed by SIGKILL' });
  });

  it('reads ::output lines from stdout, even cut across chunks', async () => {
    // the sleeps make the pipe deliver the line in pieces
    const run = testRun({
      kind: 'shell',
      run: "printf '::output ver'; sleep 0.1; printf 'sion=1.2'; sleep 0.1; printf '.3\\nnoise\\n::output url=http://x/?a=b\\n'; echo '::output ignored=1' >&2; printf '::output last=no-newline'",
    });
    expect(await shell.execute(run)).toEqual({ outcome: 'done', outputs: { version: '1.2.3', url: 'http://x/?a=b', last: 'no-newline' } });
    expect(run.text()).toContain('::output version=1.2.3\nnoise\n');
    // the token itself is never shown
    expect(run.text()).not.toContain(TEST_OUTPUT_TOKEN);
  });

  it('ignores ::output lines without the attempt token: data the step echoes cannot set outputs', async () => {
    // `rendered` as given: the lines below are not the author's, so nothing tokenised them
    const run = testRun(
      { kind: 'shell' },
      {
        rendered: {
          name: 'echo',
          kind: 'shell',
          run: `printf 'x\\n::output injected=1\\n::output::guess forged=1\\n'; echo "::output::$QUIRE_OUTPUT_TOKEN from_env=1"`,
        },
      },
    );
    expect(await shell.execute(run)).toEqual({ outcome: 'done', outputs: { from_env: '1' } });
    expect(run.text()).toContain('::output injected=1');
  });

  it('passes each argv element as one argument, without a shell', async () => {
    const args = ['two words', 'it\'s "quoted"', '$(echo injected)', '*', ''];
    const run = testRun({ kind: 'shell', argv: ['node', '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...args] });
    expect(await shell.execute(run)).toMatchObject({ outcome: 'done' });
    expect(JSON.parse(run.text())).toEqual(args);
  });

  it('gives the process the worker env, secrets and the step env, and runs in cwd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quire-shell-'));
    try {
      writeFileSync(join(dir, 'marker.txt'), 'here');
      const run = testRun(
        {
          kind: 'shell',
          run: 'echo "::output token=$API_TOKEN"; echo "::output region=$REGION"; echo "::output path=${PATH:+set}"; echo "::output marker=$(cat marker.txt)"',
          cwd: dir,
          env: { REGION: 'eu-west' },
        },
        { env: { API_TOKEN: 's3cret-token' } },
      );
      expect(await shell.execute(run)).toEqual({
        outcome: 'done',
        outputs: { token: 's3cret-token', region: 'eu-west', path: 'set', marker: 'here' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes invalid UTF-8 and NUL bytes safe text', async () => {
    const run = testRun({ kind: 'shell', run: "printf 'a\\377b\\000c\\342\\202\\254'" });
    await shell.execute(run);
    expect(run.text()).toBe('a\uFFFDb\uFFFDc€');
  });

  it('fails clearly when the command or the working directory does not exist', async () => {
    expect(await shell.execute(testRun({ kind: 'shell', argv: ['/no/such/binary', 'x'] }))).toEqual({
      outcome: 'failed',
      message: 'command not found: /no/such/binary',
    });
    expect(await shell.execute(testRun({ kind: 'shell', run: 'true', cwd: '/no/such/dir' }))).toEqual({
      outcome: 'failed',
      message: "working directory '/no/such/dir' does not exist",
    });
    expect(await shell.execute(testRun({ kind: 'shell' }))).toEqual({ outcome: 'failed', message: 'nothing to run: give `run` or `argv`' });
    // through sh, a missing command is sh's exit 127 with its own message
    expect(await shell.execute(testRun({ kind: 'shell', run: 'no-such-command-xyz' }))).toMatchObject({ outcome: 'failed', exitCode: 127 });
  });

  it('kills the whole process group on abort, background children included, within 2 s', async () => {
    let pgid = 0;
    const run = testRun(
      { kind: 'shell', run: 'echo "pid=$$"; sleep 1000 & sleep 1000 & (trap "" TERM; sleep 1000) & wait' },
      {
        output: (chunk) => {
          const m = /pid=(\d+)/.exec(chunk);
          if (m) pgid = Number(m[1]);
        },
      },
    );
    const result = shell.execute(run);
    await waitFor(() => pgid > 0 && groupMembers(pgid).length >= 4);
    const abortedAt = Date.now();
    run.abort('cancel');
    expect(await result).toEqual({ outcome: 'aborted', reason: 'cancel', message: 'cancelled' });
    // one member ignores SIGTERM: it must still be gone after the SIGKILL grace
    await waitFor(() => groupMembers(pgid).length === 0, 2000);
    expect(Date.now() - abortedAt).toBeLessThan(2000);
  });

  it('reports the abort reason the runner gave', async () => {
    const run = testRun({ kind: 'shell', run: 'sleep 1000' });
    setTimeout(() => run.abort('timeout'), 100);
    expect(await shell.execute(run)).toEqual({ outcome: 'aborted', reason: 'timeout', message: 'timed out' });
  });

  it('does not wait for a background process that keeps the pipes open', async () => {
    let pgid = 0;
    const run = testRun(
      { kind: 'shell', run: 'echo "pid=$$"; sleep 30 & exit 0' },
      { output: (c) => (pgid = Number(/pid=(\d+)/.exec(c)?.[1] ?? pgid)) },
    );
    const started = Date.now();
    expect(await shell.execute(run)).toEqual({ outcome: 'done', outputs: {} });
    expect(Date.now() - started).toBeLessThan(2000);
    for (const pid of groupMembers(pgid)) process.kill(pid, 'SIGKILL'); // leave nothing behind
  });

  it('streams 50 MB of output fully without holding it in memory', async () => {
    let bytes = 0;
    const run = testRun(
      { kind: 'shell', run: "head -c 50000000 /dev/zero | tr '\\0' 'a'; echo; echo '::output done=yes'" },
      { output: (chunk) => (bytes += chunk.length) },
    );
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    try {
      expect(await shell.execute(run)).toEqual({ outcome: 'done', outputs: { done: 'yes' } });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(bytes).toBe(50_000_000 + 1 + '::output done=yes\n'.length);
    // ~17 MB of string garbage awaiting GC in practice; keeping the output would cost 50+ MB
    expect(peak - before).toBeLessThan(48 * 1024 * 1024);
  }, 20_000);
});
