// Jobs and steps as the API and the CLI show them: snake_case, durations in seconds.
import type { JobEntity } from './job.entity.js';
import type { JobStepEntity } from './job-step.entity.js';
import type { NotificationView } from '../notifications/notification-store.js';
import { etaOf } from './estimates.js';
import type { Progress } from '../events/event.types.js';

export interface StepView {
  id: string;
  position: number;
  name: string;
  kind: string;
  description: string | null;
  state: string;
  attempt: number;
  max_attempts: number;
  estimated_duration: number;
  estimate_source: string;
  estimate_runs: number;
  estimate_p90: number | null;
  run_chance: number;
  timeout: number;
  on_failure: string;
  data: Record<string, unknown>;
  date_started: string | null;
  date_finished: string | null;
  duration: number | null;
  output: string;
  outputs: Record<string, unknown>;
  error: string | null;
  errors: unknown[];
  resolution: unknown;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function stepView(step: JobStepEntity): StepView {
  return {
    id: step.id,
    position: step.position,
    name: step.name,
    kind: step.kind,
    description: step.description,
    state: step.state,
    attempt: step.attempt,
    max_attempts: step.retry.max_attempts,
    estimated_duration: step.estimated_duration,
    estimate_source: step.estimate_source,
    estimate_runs: step.estimate_runs,
    estimate_p90: step.estimate_p90,
    run_chance: step.run_chance,
    timeout: step.timeout,
    on_failure: step.on_failure,
    data: step.data,
    date_started: iso(step.date_started),
    date_finished: iso(step.date_finished),
    duration: step.duration,
    output: step.output,
    outputs: step.outputs,
    error: step.error,
    errors: step.errors,
    resolution: step.resolution,
  };
}

/** The step columns progressOf reads (job-store's progress query selects them). */
export const PROGRESS_COLUMNS = [
  'state',
  'estimated_duration',
  'date_started',
  'estimate_source',
  'estimate_runs',
  'estimate_p90',
  'run_chance',
] as const;

export function progressOf(steps: Pick<JobStepEntity, (typeof PROGRESS_COLUMNS)[number]>[], now = Date.now()): Progress {
  const done = steps.filter((s) => ['done', 'skipped', 'error', 'cancel'].includes(s.state)).length;
  const eta = etaOf(
    steps.map((s) => ({
      state: s.state,
      estimated_duration: s.estimated_duration,
      estimate_source: s.estimate_source,
      estimate_runs: s.estimate_runs,
      estimate_p90: s.estimate_p90,
      run_chance: s.run_chance,
      elapsed: s.date_started ? (now - new Date(s.date_started).getTime()) / 1000 : 0,
    })),
  );
  return { done_steps: done, total_steps: steps.length, eta_s: eta.eta_s, eta_basis: eta.eta_basis, eta_runs: eta.eta_runs };
}

export function jobView(job: JobEntity, steps?: JobStepEntity[]) {
  const ordered = steps ? [...steps].sort((a, b) => a.position - b.position) : undefined;
  return {
    id: job.id,
    book: job.book_name,
    book_version_id: job.book_version_id,
    kind: job.kind,
    action: job.action,
    scope: job.scope,
    deployment_id: job.deployment_id,
    deployment: job.context?.deployment?.name ?? null,
    group_id: job.group_id,
    cluster_id: job.cluster_id,
    state: job.state,
    priority: job.priority,
    channel: job.channel,
    params: job.params,
    triggered_by: job.triggered_by,
    parent_job_id: job.parent_job_id,
    chain_errors: job.chain_errors ?? [],
    skip_reason: job.skip_reason,
    error: job.error,
    date_created: iso(job.date_created),
    date_scheduled: iso(job.date_scheduled),
    date_running: iso(job.date_running),
    date_done: iso(job.date_done),
    ...(ordered ? { progress: progressOf(ordered), steps: ordered.map(stepView) } : {}),
  };
}

/** `notifications`: the deliveries its endings owe (only on a single job, see JobsService.get). */
export type JobView = ReturnType<typeof jobView> & { notifications?: NotificationView[] };
