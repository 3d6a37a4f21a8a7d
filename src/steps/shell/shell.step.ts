// `kind: shell` (BOOKS.md section 4): run a command, stream its output, read `::output` lines.
import { BoundedOutput } from '../output/output-buffer.js';
import { OutputLineParser } from '../output/output-lines.js';
import { MarkerDisplay, OUTPUT_TOKEN_ENV } from '../output/output-marker.js';
import { abortedResult, type StepExecutor, type StepResult, type StepRun } from '../step-executor.js';
import { childEnv, runProcess } from './run-process.js';

/** Bytes of output kept for the failure message; the full stored copy is the runner's. */
const MESSAGE_TAIL_BYTES = 4096;
const MESSAGE_LINES = 2;
const MESSAGE_LINE_CHARS = 300;

export class ShellStepExecutor implements StepExecutor {
  readonly kind = 'shell' as const;

  async execute(run: StepRun): Promise<StepResult> {
    const { rendered } = run;
    const lines = new OutputLineParser(run.outputToken);
    // stderr too: an authored marker echoed there sets nothing, but must not show the token either
    const display = { stdout: new MarkerDisplay(run.outputToken), stderr: new MarkerDisplay(run.outputToken) };
    const tail = new BoundedOutput({ headBytes: 0, tailBytes: MESSAGE_TAIL_BYTES });
    const show = (text: string): void => {
      if (text === '') return;
      tail.push(text);
      run.output(text);
    };
    const end = await runProcess(
      { run: rendered.run, argv: rendered.argv, cwd: rendered.cwd, env: childEnv(run.env, rendered.env, { [OUTPUT_TOKEN_ENV]: run.outputToken }) },
      run.signal,
      (text, stream) => {
        if (stream === 'stdout') lines.push(text);
        show(display[stream].push(text));
      },
    );
    lines.flush();
    show(display.stdout.flush());
    show(display.stderr.flush());

    switch (end.kind) {
      case 'aborted':
        return abortedResult(run.signal);
      case 'spawn-error':
        return { outcome: 'failed', message: end.message };
      case 'signal':
        return { outcome: 'failed', message: `killed by ${end.signal}` };
      case 'exit':
        if (end.code === 0) return { outcome: 'done', outputs: { ...lines.outputs } };
        if (run.retry.retry_on_exit_codes.includes(end.code))
          return { outcome: 'retry', message: `exit code ${end.code}`, exitCode: end.code };
        return { outcome: 'failed', message: withLastLines(`exit code ${end.code}`, tail.tailText()), exitCode: end.code };
    }
  }
}

/** `exit code 2: <the output's last lines>`: what a person reads first in the job list. */
export function withLastLines(message: string, output: string): string {
  const last = output
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trimEnd())
    .filter((line) => line !== '')
    .slice(-MESSAGE_LINES)
    .map((line) => (line.length > MESSAGE_LINE_CHARS ? `${line.slice(0, MESSAGE_LINE_CHARS)}…` : line));
  return last.length > 0 ? `${message}: ${last.join('\n')}` : message;
}
