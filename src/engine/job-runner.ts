// Runs one claimed job: its steps in order, from the frozen snapshot plus earlier outputs,
// until the job ends, waits for a retry or a person, or the lease is lost.
import { Logger } from '@nestjs/common';
import { describeSkip } from '../jobs/skip-reason.js';
import type { JobEntity } from '../jobs/job.entity.js';
import type { JobStepEntity, StepAttemptError } from '../jobs/job-step.entity.js';
import type { BookStep, ChainTrigger } from '../books/book.types.js';
import { parseDuration } from '../books/duration.js';
import { outputFields, runTimeFields } from '../books/templated-fields.js';
import { templates } from '../templates/template-engine.js';
import type { RenderContext } from '../templates/template.types.js';
import { JobStore, LeaseLostError, type Lease } from './job-store.js';
import { SecretsProvider, secretEnvName } from './secrets.js';
import { newOutputToken } from '../steps/output/output-marker.js';
import { StepAbort, type StepAbortReason, type StepExecutorRegistry, type StepResult, type StepRun } from '../steps/step-executor.js';
import { BoundedOutput, suffixWithin } from '../steps/output/output-buffer.js';
import { SecretMasker, maskDeep } from '../steps/output/secret-masker.js';
import { retryDelaySeconds } from '../steps/retry-delay.js';
import { withLogContext, type LogFields } from '../observability/logger.js';

export interface ChildJobs {
  /** Creates a job (a `trigger` step or a chain); returns its id. */
  trigger(request: {
    scope: 'deployment' | 'group' | 'cluster';
    target: string;
    action: string;
    params?: unknown;
    parentJobId?: string;
    delaySeconds?: number;
    triggeredBy: string;
    /** the same key returns the job it made the first time: a step or chain run again makes no second one */
    idempotencyKey?: string;
    /** the clusters of whoever triggered the root job (null: unscoped): the new job may not leave them */
    scopeClusters: string[] | null;
  }): Promise<string>;
  state(jobId: string): Promise<string>;
}

export interface RunnerOptions {
  leaseSeconds: number;
  heartbeatSeconds: number;
  /** how often buffered output is written and sent (at most about 20 events a second per job) */
  outputFlushMs: number;
}

/** Live output per step: bursts up to LIVE_BURST, then LIVE_RATE a second (in UTF-16 units, about bytes). */
const LIVE_BURST = 1024 * 1024;
const LIVE_RATE = 256 * 1024;
const LIVE_HELD = 64 * 1024;

interface Outcome {
  kind: 'continue' | 'stop';
  failure?: string;
  /** what later steps see as `steps.<name>.output` */
  outputs?: Record<string, unknown>;
}

export class JobRunner {
  private readonly logger: Pick<Logger, 'debug' | 'log' | 'warn' | 'error'>;
  /** the heartbeat of each job this node runs, by job id */
  private readonly beats = new Map<string, () => void>();
  /** told the delay of each retry this node schedules, so its worker claims it when due rather than at its next poll */
  onRetryScheduled: ((delaySeconds: number) => void) | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly executors: StepExecutorRegistry,
    private readonly secrets: SecretsProvider,
    private readonly children: ChildJobs,
    private readonly options: RunnerOptions,
  ) {
    // Every line masked: a failed write's error, or a refused trigger's, may quote a value.
    const logger = new Logger('Runner');
    const masker = new SecretMasker(secrets.allValues());
    this.logger = {
      debug: (message: string) => logger.debug(masker.mask(message)),
      log: (message: string) => logger.log(masker.mask(message)),
      warn: (message: string) => logger.warn(masker.mask(message)),
      error: (message: string) => logger.error(masker.mask(message)),
    };
  }

  /**
   * Runs until the job leaves this worker. `drain` (shutdown began) hands the job back before
   * its next step; `shutdown` (grace period over) stops the running step and hands it back.
   */
  async run(job: JobEntity, signals: { drain: AbortSignal; shutdown: AbortSignal }): Promise<void> {
    // Every line logged for this job, down to its steps' and heartbeat's, names it (JSON logs).
    return withLogContext({ job_id: job.id, book: job.book_name, ...logTarget(job) }, () => this.runJob(job, signals));
  }

  private async runJob(job: JobEntity, { drain, shutdown }: { drain: AbortSignal; shutdown: AbortSignal }): Promise<void> {
    const lease: Lease = { jobId: job.id, token: job.lease_token! };
    const control = new AbortController();
    const stopHeartbeat = this.heartbeat(lease, control);
    const onShutdown = () => control.abort(new StepAbort('shutdown'));
    shutdown.addEventListener('abort', onShutdown, { once: true });
    try {
      await this.runSteps(job, lease, control.signal, drain);
    } catch (error) {
      if (error instanceof LeaseLostError) this.logger.warn(`job ${job.id}: lease lost, leaving it to its new owner`);
      else this.logger.error(`job ${job.id}: ${(error as Error).stack ?? error}`);
    } finally {
      // A step end kept for a next write that never came (a lost lease stopped the run).
      await this.store.flushStepEnd(lease).catch((error: Error) => {
        if (!(error instanceof LeaseLostError)) this.logger.warn(`job ${job.id}: writing the end of its last step failed: ${error.message}`);
      });
      this.store.forget(job.id);
      shutdown.removeEventListener('abort', onShutdown);
      stopHeartbeat();
    }
  }

  /**
   * Renews the lease every few seconds and turns a lost lease or a cancel request into an abort.
   * A worker that cannot reach the database stops its step before the lease can expire: by then
   * the rescuer may have given the job to another worker, and the step must not run twice at once.
   */
  private heartbeat(lease: Lease, control: AbortController): () => void {
    let busy = false;
    let renewedAt = Date.now();
    const marginMs = Math.max(this.options.heartbeatSeconds * 1000, (this.options.leaseSeconds * 1000) / 5);
    const beat = () => {
      if (control.signal.aborted) return;
      // Checked on every tick, also while a renewal hangs (a partition shows as silence, not errors).
      if (Date.now() - renewedAt >= this.options.leaseSeconds * 1000 - marginMs) {
        this.logger.warn(`job ${lease.jobId}: lease not renewed for ${Math.round((Date.now() - renewedAt) / 1000)} s; stopping its step`);
        control.abort(new StepAbort('lease-lost'));
        return;
      }
      if (busy) return;
      busy = true;
      this.store
        .heartbeat(lease, this.options.leaseSeconds)
        .then(({ alive, cancelRequested }) => {
          renewedAt = Date.now();
          if (!alive) control.abort(new StepAbort('lease-lost'));
          else if (cancelRequested) control.abort(new StepAbort('cancel'));
        })
        .catch((error: Error) => this.logger.warn(`heartbeat of job ${lease.jobId} failed: ${error.message}`))
        .finally(() => (busy = false));
    };
    const timer = setInterval(beat, this.options.heartbeatSeconds * 1000);
    this.beats.set(lease.jobId, beat);
    return () => {
      clearInterval(timer);
      this.beats.delete(lease.jobId);
    };
  }

  /** Renews the lease of a job this node runs now, rather than at its next beat: a cancel request came. */
  checkNow(jobId: string): void {
    this.beats.get(jobId)?.();
  }

  private async runSteps(job: JobEntity, lease: Lease, signal: AbortSignal, drain: AbortSignal): Promise<void> {
    const steps = await this.store.steps(job.id);
    const outputs: Record<string, { output: Record<string, unknown> }> = {};
    let failure: string | null = null;
    for (const step of steps) {
      if (['done', 'error', 'skipped', 'cancel'].includes(step.state)) {
        outputs[step.name] = { output: step.outputs ?? {} };
        // A step a person rejected while the job waited ends the job like any failure.
        if (step.state === 'error' && step.on_failure === 'fail') return this.finish(job, lease, 'error', `step ${step.name} failed: ${step.error}`);
        if (step.state === 'error' && step.on_failure !== 'ignore') failure ??= `step ${step.name} failed: ${step.error}`;
        continue;
      }
      if (signal.aborted) return this.stopBeforeStep(job, lease, signal);
      if (drain.aborted) return this.store.handBack(lease, job, null, 'worker shutting down');
      const outcome = await withLogContext({ step: step.name }, () => this.runStep(job, lease, step, outputs, signal));
      if (outcome.kind === 'stop') return;
      if (outcome.failure) failure ??= outcome.failure;
      outputs[step.name] = { output: outcome.outputs ?? {} };
    }
    await this.finish(job, lease, failure ? 'error' : 'done', failure);
  }

  private async stopBeforeStep(job: JobEntity, lease: Lease, signal: AbortSignal): Promise<void> {
    const reason = (signal.reason as StepAbort).reason;
    if (reason === 'cancel') await this.finish(job, lease, 'cancel', 'cancelled');
    else if (reason === 'shutdown') await this.store.handBack(lease, job, null, 'worker shut down');
  }

  private async runStep(
    job: JobEntity,
    lease: Lease,
    step: JobStepEntity,
    outputs: Record<string, { output: Record<string, unknown> }>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const { values: secretValues, missing } = this.secrets.resolve(step.spec.secrets ?? []);
    const context: RenderContext = { ...job.context, step: { data: step.data }, steps: outputs, secrets: secretValues };
    // New each attempt: data a step echoes cannot know it (steps/output/output-marker.ts).
    const outputToken = newOutputToken();
    const masker = new SecretMasker([...this.secrets.allValues(), ...Object.values(secretValues)]);

    if (step.spec.when !== undefined) {
      let rendered: string;
      try {
        rendered = templates.render(step.spec.when, context, 'text');
      } catch (error) {
        return this.failWithoutRunning(job, lease, step, `when: ${masker.mask((error as Error).message)}`);
      }
      if (!templates.isTruthy(rendered)) {
        await this.store.stepSkipped(lease, job, step, describeSkip(step.spec.when, masker.mask(rendered)));
        return { kind: 'continue' };
      }
    }
    if (missing.length) return this.failWithoutRunning(job, lease, step, `secrets not configured: ${missing.join(', ')} (set QUIRE_SECRET_<NAME> or QUIRE_SECRETS_FILE)`);
    let rendered: BookStep;
    try {
      rendered = renderStep(step.spec, context, outputToken);
    } catch (error) {
      return this.failWithoutRunning(job, lease, step, masker.mask((error as Error).message));
    }

    const started = await this.store.stepStarted(lease, job, step);
    this.logger.debug(`step ${step.name} (${step.kind}) started, attempt ${started.attempt}`);
    if (step.kind === 'manual') {
      // validation refuses secrets.* here; masked as well, since the text is stored and shown
      await this.store.waitForPerson(lease, job, started, masker.mask(rendered.instructions ?? 'Acknowledge this step to continue.'));
      return { kind: 'stop' };
    }
    const { result, output, lastChunk } = await this.execute(job, lease, started, rendered, secretValues, outputToken, masker, signal);
    return this.settle(job, lease, started, maskResult(result, masker), output, lastChunk);
  }

  private async execute(
    job: JobEntity,
    lease: Lease,
    step: JobStepEntity,
    rendered: BookStep,
    secretValues: Record<string, string>,
    outputToken: string,
    masker: SecretMasker,
    signal: AbortSignal,
  ): Promise<{ result: StepResult; output: BoundedOutput; lastChunk?: string }> {
    const output = new BoundedOutput();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new StepAbort('timeout')), step.timeout * 1000);
    const stepSignal = AbortSignal.any([signal, timeout.signal]);
    const overdue = this.watchOverdue(job, lease, step);
    let pending = '';
    let flushing: Promise<void> = Promise.resolve();
    // Live output may burst to LIVE_BURST bytes, then runs at LIVE_RATE: a step printing faster
    // must not grow the worker (each event is garbage to collect). The next chunk says how much
    // was left out and brings its last LIVE_HELD bytes, so the lines before it (at the end of
    // the step: its last lines) show. The stored output gets everything either way.
    let allowance = LIVE_BURST;
    let refilled = Date.now();
    let unsent = 0;
    // the last texts left out, by reference (no copies while a step floods), LIVE_HELD or more
    let held: string[] = [];
    let heldLength = 0;
    // The step's last chunk, once it ended: written in the transaction that records its end
    // (issue 9: one commit fewer per step), unless the run stops otherwise (see settle).
    let lastChunk: string | undefined;
    let ended = false;
    const send = (text: string, last = false) => {
      if (!text && !(last && unsent)) return;
      output.push(text);
      const now = Date.now();
      allowance = Math.min(LIVE_BURST, allowance + ((now - refilled) / 1000) * LIVE_RATE);
      refilled = now;
      if (allowance <= 0 && !last) {
        unsent += Buffer.byteLength(text, 'utf8');
        held.push(text);
        heldLength += text.length;
        while (heldLength - held[0]!.length >= LIVE_HELD) heldLength -= held.shift()!.length;
        return;
      }
      const before = held.length ? suffixWithin(held.join(''), LIVE_HELD) : '';
      const dropped = unsent - Buffer.byteLength(before, 'utf8');
      const chunk = `${dropped > 0 ? `\n… [${dropped} bytes not shown live; the stored output keeps its head and tail] …\n` : ''}${before}${text}`;
      unsent = 0;
      held = [];
      heldLength = 0;
      allowance -= chunk.length;
      if (last && ended) {
        lastChunk = chunk;
        return;
      }
      flushing = flushing
        .then(() => this.store.stepOutput(lease, job, step, output.text(), output.bytes, chunk))
        .catch((error: Error) => this.logger.warn(`output of ${step.name}: ${error.message}`));
    };
    // A tick sends only what the masker released; its held-back end may be the start of a
    // secret that the next chunk completes, so it is flushed only when the step has ended.
    const flush = (ended = false) => {
      const chunk = pending + (ended ? masker.flush() : '');
      pending = '';
      send(chunk, ended);
    };
    const flusher = setInterval(() => flush(), this.options.outputFlushMs);
    const env = Object.fromEntries(Object.entries(secretValues).map(([name, value]) => [secretEnvName(name), value]));
    const run: StepRun = {
      jobId: job.id,
      stepId: step.id,
      stepName: step.name,
      attempt: step.attempt,
      kind: step.kind as StepRun['kind'],
      rendered,
      data: step.data,
      timeoutSeconds: step.timeout,
      retry: step.retry,
      env,
      outputToken,
      signal: stepSignal,
      output: (chunk) => {
        pending += masker.push(chunk);
        // Bound what waits between flushes: a step printing fast must not grow memory.
        if (pending.length > 64 * 1024) {
          send(pending);
          pending = '';
        }
      },
      handlerContext: {
        job: { id: job.id, action: job.action, triggered_by: job.triggered_by },
        deployment: job.context.deployment ?? null,
        step: { name: step.name, data: step.data },
      },
    };
    let result: StepResult;
    try {
      result = step.kind === 'trigger' ? await this.triggerStep(job, step, rendered, stepSignal, run.output) : await this.executors.get(run.kind).execute(run);
      ended = true;
    } finally {
      clearTimeout(timer);
      clearInterval(flusher);
      overdue.forEach(clearTimeout);
      // An executor that threw sends its last chunk as before; one that returned, with its end.
      flush(true);
      await flushing;
    }
    return { result, output, lastChunk };
  }

  /** `overdue` events when a step passes its estimate, and again its learned 90th percentile (frozen into the step). */
  private watchOverdue(job: JobEntity, lease: Lease, step: JobStepEntity): NodeJS.Timeout[] {
    const timers: NodeJS.Timeout[] = [];
    const warn = (after: number, threshold: 'estimate' | 'p90') =>
      timers.push(
        setTimeout(() => {
          this.store.stepOverdue(lease, job, step, after, threshold, step.timeout).catch(() => undefined);
        }, after * 1000),
      );
    if (step.estimated_duration < step.timeout) warn(step.estimated_duration, 'estimate');
    const p90 = step.estimate_p90;
    if (p90 !== null && p90 > step.estimated_duration && p90 < step.timeout) warn(p90, 'p90');
    return timers;
  }

  private async triggerStep(job: JobEntity, step: JobStepEntity, rendered: BookStep, signal: AbortSignal, output: (chunk: string) => void): Promise<StepResult> {
    let childId: string;
    try {
      childId = await this.children.trigger({
        ...(rendered.deployment ? { scope: 'deployment', target: rendered.deployment } : ownTarget(job)),
        action: rendered.action!,
        params: rendered.params,
        // Only a parent that waits lets its child past it on their shared locks; a child it
        // does not wait for queues behind it like any other job.
        parentJobId: rendered.wait ? job.id : undefined,
        triggeredBy: `job:${job.id}`,
        scopeClusters: job.scope_clusters ?? null,
        // An attempt interrupted by a lost worker finds the child it made; a retry makes a new one.
        idempotencyKey: `step:${step.id}:${step.attempt - step.interruptions}`,
      });
    } catch (error) {
      return { outcome: 'failed', message: `could not trigger '${rendered.action}': ${(error as Error).message}` };
    }
    output(`triggered job ${childId} (${rendered.action})\n`);
    if (!rendered.wait) return { outcome: 'done', outputs: { job_id: childId } };
    while (!signal.aborted) {
      const state = await this.children.state(childId);
      if (state === 'done') return { outcome: 'done', outputs: { job_id: childId, state } };
      if (state === 'error' || state === 'cancel') return { outcome: 'failed', message: `triggered job ${childId} ended ${state}` };
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const reason = (signal.reason as StepAbort).reason;
    return { outcome: 'aborted', reason, message: reason };
  }

  /** Records what an attempt came to (its secrets already masked), and decides what the job does next. */
  private async settle(job: JobEntity, lease: Lease, step: JobStepEntity, result: StepResult, output: BoundedOutput, lastChunk?: string): Promise<Outcome> {
    // The last chunk rides with the step's end (done, error, cancel); any other way on sends it first.
    const stored = { output: output.text(), bytes: output.bytes, chunk: lastChunk };
    const sendChunk = async () => {
      if (lastChunk) await this.store.stepOutput(lease, job, step, stored.output, stored.bytes, lastChunk).catch((error: Error) => this.logger.warn(`output of ${step.name}: ${error.message}`));
    };
    if (result.outcome === 'done') {
      // Written with the job's next write, the next step's start or the job's end (see stepDone).
      this.store.stepDone(lease, job, step, { state: 'done', outputs: result.outputs, ...stored });
      return { kind: 'continue', outputs: result.outputs };
    }
    if (result.outcome === 'aborted') {
      if (result.reason === 'lease-lost') {
        await sendChunk();
        return { kind: 'stop' };
      }
      if (result.reason === 'shutdown') {
        await sendChunk();
        await this.store.handBack(lease, job, step, 'worker shut down; the step runs again');
        return { kind: 'stop' };
      }
      if (result.reason === 'cancel') {
        await this.store.stepFinished(lease, job, step, { state: 'cancel', ...stored, error: attemptError(step, 'cancelled') });
        await this.finish(job, lease, 'cancel', 'cancelled');
        return { kind: 'stop' };
      }
    }
    const timedOut = result.outcome === 'aborted';
    const message = timedOut ? `timed out after ${step.timeout} s` : (result as { message: string }).message;
    const error = attemptError(step, message, result);
    const retryable = result.outcome === 'retry' || (timedOut && step.retry.retry_on_timeout);
    const attemptsUsed = step.attempt - step.interruptions;
    if (retryable && attemptsUsed < step.retry.max_attempts) {
      const delay = result.outcome === 'retry' && result.delaySeconds !== undefined ? result.delaySeconds : retryDelaySeconds(step.retry, attemptsUsed);
      await sendChunk();
      await this.store.retryLater(lease, job, step, delay, error, stored);
      this.onRetryScheduled?.(delay);
      return { kind: 'stop' };
    }
    await this.store.stepFinished(lease, job, step, { state: 'error', ...stored, error });
    return this.afterFailure(job, lease, step, message);
  }

  private async failWithoutRunning(job: JobEntity, lease: Lease, step: JobStepEntity, message: string): Promise<Outcome> {
    const started = await this.store.stepStarted(lease, job, step);
    await this.store.stepFinished(lease, job, started, { state: 'error', output: '', bytes: 0, error: attemptError(started, message) });
    return this.afterFailure(job, lease, started, message);
  }

  private async afterFailure(job: JobEntity, lease: Lease, step: JobStepEntity, message: string): Promise<Outcome> {
    const failure = `step ${step.name} failed: ${message}`;
    if (step.on_failure === 'ignore') return { kind: 'continue' };
    if (step.on_failure === 'continue') return { kind: 'continue', failure };
    await this.finish(job, lease, 'error', failure);
    return { kind: 'stop' };
  }

  private async finish(job: JobEntity, lease: Lease, state: 'done' | 'error' | 'cancel', error: string | null): Promise<void> {
    const endedAt = await this.store.finishJob(lease, job, state, error);
    const line = `job ${job.id} (${job.book_name}) ended ${state}${error ? `: ${error}` : ''}`;
    if (state === 'error') this.logger.warn(line);
    else this.logger.log(line);
    const chain = state === 'done' ? job.on_success : state === 'error' ? job.on_failure : undefined;
    if (chain?.length) await this.triggerChain(job, state === 'done' ? 'on_success' : 'on_failure', chain, endedAt);
  }

  /** Triggers the chain links of jobs whose worker died between their end and their links. */
  async triggerOwedChains(): Promise<number> {
    // Its worker triggers them within milliseconds of the end; a lease later, it has died.
    const owed = await this.store.pendingChains(this.options.leaseSeconds);
    for (const job of owed) {
      const key = job.state === 'done' ? 'on_success' : 'on_failure';
      await this.triggerChain(job, key, (job.state === 'done' ? job.on_success : job.on_failure) ?? [], new Date(job.date_done!));
    }
    return owed.length;
  }

  /**
   * The book's `on_success`/`on_failure` links, rendered now that the job has ended: its
   * context and every step's output. A refused link is logged; the job's outcome stands. Each
   * link's key names this ending of this job, so a sweep after a crash makes no second job.
   */
  private async triggerChain(job: JobEntity, key: 'on_success' | 'on_failure', chain: ChainTrigger[], endedAt: Date): Promise<void> {
    const steps = await this.store.steps(job.id);
    const context: RenderContext = { ...job.context, steps: Object.fromEntries(steps.map((s) => [s.name, { output: s.outputs ?? {} }])) };
    for (const [i, link] of chain.entries()) {
      const spec = typeof link.trigger === 'string' ? { action: link.trigger } : link.trigger;
      try {
        await this.children.trigger({
          ...(spec.deployment ? { scope: 'deployment', target: templates.render(spec.deployment, context, 'text') } : ownTarget(job)),
          action: spec.action,
          params: spec.params === undefined ? undefined : templates.renderValue(spec.params, context, 'json'),
          delaySeconds: spec.delay === undefined ? undefined : parseDuration(spec.delay),
          triggeredBy: `job:${job.id}`,
          idempotencyKey: `chain:${job.id}:${endedAt.toISOString()}:${key}:${i}`,
          scopeClusters: job.scope_clusters ?? null,
        });
      } catch (chainError) {
        const message = (chainError as Error).message;
        this.logger.warn(`job ${job.id}: ${key} trigger '${spec.action}' refused: ${message}`);
        // Kept on the job, where its readers look: the job's own outcome stands.
        await this.store.chainError(job.id, { link: key, index: i, action: spec.action, error: message, at: new Date().toISOString() });
      }
    }
    await this.store.chainTriggered(job.id);
  }
}

/** The record a job runs on, as a trigger names it: a chained action with no target runs there too. */
/** The job's target for log lines: deployment, group and cluster names as far as it has them. */
function logTarget(job: JobEntity): LogFields {
  const c = job.context;
  return { deployment: c?.deployment?.name, group: c?.group?.name ?? undefined, cluster: c?.cluster?.name ?? undefined };
}

function ownTarget(job: JobEntity): { scope: 'deployment' | 'group' | 'cluster'; target: string } {
  if (job.deployment_id) return { scope: 'deployment', target: job.deployment_id };
  if (job.group_id && job.scope === 'group') return { scope: 'group', target: job.group_id };
  return { scope: 'cluster', target: job.cluster_id ?? '' };
}

/**
 * The result as it may be stored and sent: outputs, message and trace come from the step's own
 * text (`::output` lines, response bodies, exceptions), which the output stream's masking never saw.
 */
function maskResult(result: StepResult, masker: SecretMasker): StepResult {
  if (result.outcome === 'done') return { ...result, outputs: maskDeep(result.outputs, masker) as Record<string, unknown> };
  if (result.outcome === 'aborted') return result;
  return { ...result, message: masker.mask(result.message), ...(result.trace ? { trace: masker.mask(result.trace) } : {}) };
}

function attemptError(step: JobStepEntity, message: string, result?: StepResult): StepAttemptError {
  const extra = result && 'exitCode' in result && result.exitCode !== undefined ? { exit_code: result.exitCode } : {};
  const status = result && 'status' in result && result.status !== undefined ? { status: result.status } : {};
  const trace = result && 'trace' in result && result.trace ? { trace: result.trace } : {};
  return { at: new Date().toISOString(), attempt: step.attempt, message, ...extra, ...status, ...trace };
}

/**
 * The step's run-time fields rendered, each escaped for where it lands; with `outputToken`, the
 * `::output ` its author wrote in a shell step's `run` and `argv` (templated or not) tokenised.
 */
export function renderStep(spec: BookStep, context: RenderContext, outputToken?: string): BookStep {
  const rendered = structuredClone(spec) as unknown as Record<string, unknown>;
  const marked = outputToken === undefined ? [] : outputFields(spec);
  for (const field of runTimeFields(spec)) {
    if (marked.some((m) => sameField(m.path, field.path))) continue;
    const value = field.mode === 'json' ? templates.renderValue(field.source, context, 'json') : templates.render(field.source, context, field.mode);
    setAt(rendered, field.path, value);
  }
  for (const field of marked) setAt(rendered, field.path, templates.render(field.source, context, field.mode, { outputToken }));
  return rendered as unknown as BookStep;
}

function sameField(a: (string | number)[], b: (string | number)[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

function setAt(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = root;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

export type { StepAbortReason };
