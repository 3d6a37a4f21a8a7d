// The one place that says which state may follow which (STYLE.md habit 2). Everything that
// changes a job's or a step's state asks assertJobTransition / assertStepTransition first.

export const JOB_STATES = ['draft', 'scheduled', 'running', 'done', 'error', 'cancel'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const STEP_STATES = ['pending', 'running', 'retrying', 'waiting', 'done', 'error', 'skipped', 'cancel'] as const;
export type StepState = (typeof STEP_STATES)[number];

export const FINAL_JOB_STATES: readonly JobState[] = ['done', 'error', 'cancel'];
/** States in which a job counts as live: `unique` and the deployment lock consider these. */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['draft', 'scheduled', 'running'];
export const FINAL_STEP_STATES: readonly StepState[] = ['done', 'error', 'skipped', 'cancel'];

const JOB_TRANSITIONS: Record<JobState, readonly JobState[]> = {
  draft: ['scheduled', 'cancel'],
  // scheduled → done: a job whose `when` renders falsy ends done with every step skipped.
  scheduled: ['running', 'cancel', 'done'],
  // running → scheduled: a retry waits, a lease expired, or a worker shut down gracefully.
  running: ['scheduled', 'done', 'error', 'cancel'],
  done: [],
  // error/cancel → scheduled: resume.
  error: ['scheduled'],
  cancel: ['scheduled'],
};

const STEP_TRANSITIONS: Record<StepState, readonly StepState[]> = {
  // pending → skipped: `when` false, or an earlier step failed; pending → cancel: job cancelled.
  pending: ['running', 'skipped', 'cancel'],
  running: ['done', 'error', 'retrying', 'waiting', 'pending', 'cancel'],
  retrying: ['running', 'cancel', 'pending'],
  waiting: ['done', 'error', 'cancel'],
  done: [],
  // error/cancel/skipped → pending: resume puts the failed step and those after it back.
  error: ['pending'],
  skipped: ['pending'],
  cancel: ['pending'],
};

export class InvalidTransitionError extends Error {
  constructor(
    readonly subject: 'job' | 'step',
    readonly from: string,
    readonly to: string,
  ) {
    super(`a ${subject} cannot go from '${from}' to '${to}'`);
    this.name = 'InvalidTransitionError';
  }
}

export function canJobTransition(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

export function canStepTransition(from: StepState, to: StepState): boolean {
  return STEP_TRANSITIONS[from].includes(to);
}

export function assertJobTransition(from: JobState, to: JobState): void {
  if (!canJobTransition(from, to)) throw new InvalidTransitionError('job', from, to);
}

export function assertStepTransition(from: StepState, to: StepState): void {
  if (!canStepTransition(from, to)) throw new InvalidTransitionError('step', from, to);
}

/** The states a job may be in for `to` to be reached: used in `WHERE state IN (...)` guards. */
export function jobStatesLeadingTo(to: JobState): JobState[] {
  return JOB_STATES.filter((from) => JOB_TRANSITIONS[from].includes(to));
}

export function stepStatesLeadingTo(to: StepState): StepState[] {
  return STEP_STATES.filter((from) => STEP_TRANSITIONS[from].includes(to));
}

export function isFinalJobState(state: JobState): boolean {
  return FINAL_JOB_STATES.includes(state);
}
