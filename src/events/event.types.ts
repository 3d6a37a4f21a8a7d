// The `deploy_event` payload, as socket.io clients and the portal receive it.

export const EVENT_TYPES = ['job', 'step', 'progress', 'output', 'overdue'] as const;
export type DeployEventType = (typeof EVENT_TYPES)[number];

export interface Progress {
  done_steps: number;
  total_steps: number;
  eta_s: number;
  /** where eta_s comes from: 'learned' when every step it still counts has a learned estimate (BOOKS.md section 7) */
  eta_basis: 'learned' | 'book';
  /** the fewest runs those learned estimates come from; 0 for 'book' */
  eta_runs: number;
}

export interface DeployEventInput {
  type: DeployEventType;
  job_id: string;
  step_id?: string | null;
  deployment_id: string | null;
  group_id: string | null;
  cluster_id: string | null;
  /** the new state of the job (type `job`) or step (type `step`) */
  state?: string;
  step_name?: string;
  progress?: Progress;
  /** anything else the type carries: output text, error, attempt, ... */
  data?: Record<string, unknown>;
}

export interface DeployEvent extends Omit<DeployEventInput, 'step_id'> {
  seq: number;
  at: string;
  step_id: string | null;
}
