// A dry-run plan for a terminal: one line per step with its estimate and timeout.
import { describeBasis } from '../jobs/estimates.js';

interface PlanView {
  book: string;
  book_version: string;
  action: string;
  deployment: string | null;
  params: Record<string, unknown>;
  skip_reason: string | null;
  eta_s: number;
  eta_basis?: string;
  eta_runs?: number;
  locks: string[];
  steps: {
    position: number;
    name: string;
    kind: string;
    state: string;
    estimated_duration: number;
    estimate_source: string;
    estimate_runs?: number;
    run_chance?: number;
    timeout: number;
    data: Record<string, unknown>;
    starts_after_s: number;
    rendered: Record<string, unknown>;
  }[];
}

const seconds = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.round(s * 10) / 10}s`);

export function printPlan(plan: PlanView, write: (line: string) => void = console.log): void {
  write(`plan: ${plan.action} on ${plan.deployment ?? '(group/cluster)'} with book ${plan.book} (${plan.book_version})`);
  write(`params: ${JSON.stringify(plan.params)}`);
  if (plan.skip_reason) write(`the job would be skipped: ${plan.skip_reason}`);
  for (const step of plan.steps) {
    const estimate = `${seconds(step.estimated_duration)} (${describeBasis(step.estimate_source === 'history' ? 'learned' : 'book', step.estimate_runs)})`;
    write(`  ${step.position + 1}. ${step.name} [${step.kind}] est ${estimate}, timeout ${seconds(step.timeout)}, starts after ${seconds(step.starts_after_s)}${chance(step.run_chance)}`);
    if (Object.keys(step.data).length) write(`       data: ${JSON.stringify(step.data)}`);
    for (const [field, value] of Object.entries(step.rendered)) write(`       ${field}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  write(`eta: ${seconds(plan.eta_s)} (${describeBasis(plan.eta_basis, plan.eta_runs)})`);
}

/** How a step's run chance reads: nothing when it surely runs. */
function chance(runChance: number | undefined): string {
  if (runChance === undefined || runChance >= 1) return '';
  if (runChance <= 0) return ', will be skipped (its when is false), not in the ETA';
  return `, runs in ${Math.round(runChance * 100)}% of recent jobs (its when)`;
}
