// `kind: wait` (BOOKS.md section 4): a plain sleep (`duration`), or a probe (`until.http` or
// `until.shell`) polled every `interval` until it passes. The step's timeout is the runner's:
// it aborts the signal with reason `timeout`, and this executor reports `aborted`, so the
// runner alone decides between failure and `retry_on_timeout`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BookStep } from '../../books/book.types.js';
import { parseDuration } from '../../books/duration.js';
import { BoundedOutput } from '../output/output-buffer.js';
import { buildRequest, describeFetchError } from '../http/http.step.js';
import { displayUrl, isExpectedStatus } from '../http/http-status.js';
import { childEnv, runProcess } from '../shell/run-process.js';
import { withLastLines } from '../shell/shell.step.js';
import { abortedResult, type StepExecutor, type StepResult, type StepRun } from '../step-executor.js';

export const DEFAULT_INTERVAL_S = 2;
/**
 * One probe may take at most this long (or `interval`, when longer): a health endpoint that
 * hangs must count as a failed probe and be asked again, not stall the wait until its timeout.
 */
export const MIN_PROBE_TIMEOUT_S = 10;

type Until = NonNullable<BookStep['until']>;
/** `fatal`: the probe can never pass as written (bad URL, missing command): fail at once. */
type ProbeOutcome = { passed: true } | { passed: false; why: string; fatal?: boolean };

export class WaitStepExecutor implements StepExecutor {
  readonly kind = 'wait' as const;

  async execute(run: StepRun): Promise<StepResult> {
    const { rendered, signal } = run;
    let seconds: number;
    try {
      // `duration` is a plain sleep only when there is no `until` (book schema)
      seconds = parseDuration(rendered.until ? (rendered.interval ?? DEFAULT_INTERVAL_S) : (rendered.duration ?? 0));
    } catch (err) {
      return { outcome: 'failed', message: (err as Error).message };
    }
    if (!rendered.until) {
      if (rendered.duration === undefined) return { outcome: 'failed', message: 'a wait step needs `until` or `duration`' };
      return (await pause(seconds, signal)) ? { outcome: 'done', outputs: {} } : abortedResult(signal);
    }
    if (!rendered.until.http && !rendered.until.shell) return { outcome: 'failed', message: '`until` needs an `http` or a `shell` probe' };

    const probeTimeoutMs = Math.max(MIN_PROBE_TIMEOUT_S, seconds) * 1000;
    for (let probes = 1; ; probes++) {
      const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(probeTimeoutMs)]);
      const result = await probe(rendered.until, run, probeSignal);
      if (signal.aborted) return abortedResult(signal);
      if (result.passed) return { outcome: 'done', outputs: { probes } };
      if (result.fatal) return { outcome: 'failed', message: `probe: ${result.why}` };
      const why = probeSignal.aborted ? `no answer within ${probeTimeoutMs / 1000}s` : result.why;
      run.output(`probe ${probes}: ${why}\n`);
      if (!(await pause(seconds, signal))) return abortedResult(signal);
    }
  }
}

async function probe(until: Until, run: StepRun, signal: AbortSignal): Promise<ProbeOutcome> {
  if (until.http) return httpProbe(until.http, signal);
  return shellProbe(until.shell ?? {}, run, signal);
}

async function httpProbe(spec: NonNullable<Until['http']>, signal: AbortSignal): Promise<ProbeOutcome> {
  const method = (spec.method ?? 'GET').toUpperCase();
  const request = buildRequest({ method, url: spec.url }, signal);
  if (typeof request === 'string') return { passed: false, why: request, fatal: true };
  try {
    const response = await fetch(request);
    await response.body?.cancel(); // only the status matters; free the connection
    if (isExpectedStatus(response.status, spec.expect_status)) return { passed: true };
    return { passed: false, why: `${method} ${displayUrl(spec.url)} → ${response.status}` };
  } catch (err) {
    return { passed: false, why: `${method} ${displayUrl(spec.url)} → connection error: ${describeFetchError(err)}` };
  }
}

async function shellProbe(spec: NonNullable<Until['shell']>, run: StepRun, signal: AbortSignal): Promise<ProbeOutcome> {
  // the probe's output is not streamed (a probe every 2 s would flood the log); its last
  // lines go into the one line per failed probe
  const tail = new BoundedOutput({ headBytes: 0, tailBytes: 1024 });
  const end = await runProcess({ run: spec.run, argv: spec.argv, env: childEnv(run.env, run.rendered.env) }, signal, (text) =>
    tail.push(text),
  );
  switch (end.kind) {
    case 'exit':
      return end.code === 0
        ? { passed: true }
        : { passed: false, why: withLastLines(`exit code ${end.code}`, tail.tailText()).replace(/\n/g, ' | ') };
    case 'signal':
      return { passed: false, why: `killed by ${end.signal}` };
    case 'spawn-error':
      return { passed: false, why: end.message, fatal: true };
    case 'aborted':
      return { passed: false, why: 'aborted' };
  }
}

/** Sleeps; false when the signal aborted first. */
async function pause(seconds: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(seconds * 1000, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
