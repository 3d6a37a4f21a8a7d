// The activity record of a job (issue 10): who triggered, cancelled, resumed, acknowledged or
// rejected it, with their note. Written inside the transaction of the change it records.
import type { DataSource, EntityManager } from 'typeorm';
import type { ActivityKind } from './job-activity.entity.js';
import type { Statement } from '../db/one-trip.js';

export interface ActivityView {
  at: string;
  by: string;
  what: ActivityKind;
  step?: string;
  note?: string;
}

/** `token:ada` -> `ada`: the token's name; the engine's own actors (`schedule:…`, `job:…`) as they are. */
export const actorOf = (by: string): string => (by.startsWith('token:') ? by.slice('token:'.length) : by);

export async function recordActivity(
  manager: EntityManager,
  jobId: string,
  by: string,
  what: ActivityKind,
  extra: { step?: string; note?: string } = {},
): Promise<void> {
  const { text, values } = activityStatement(jobId, by, what, extra);
  await manager.query(text, values);
}

/** The insert recordActivity runs, for a transaction that sends it with its commit (JobStore.write). */
export function activityStatement(jobId: string, by: string, what: ActivityKind, extra: { step?: string; note?: string } = {}): Statement {
  return {
    text: `INSERT INTO job_activity (job_id, by, what, step, note) VALUES ($1, $2, $3, $4, $5)`,
    values: [jobId, actorOf(by), what, extra.step ?? null, extra.note ?? null],
  };
}

/** One `triggered` entry for each of many jobs created together, in one statement. */
export async function recordTriggered(manager: EntityManager, jobIds: string[], by: string): Promise<void> {
  if (jobIds.length === 0) return;
  await manager.query(`INSERT INTO job_activity (job_id, by, what) SELECT unnest($1::uuid[]), $2, 'triggered'`, [jobIds, actorOf(by)]);
}

export async function activityOf(db: DataSource | EntityManager, jobId: string): Promise<ActivityView[]> {
  const rows = (await db.query(`SELECT at, by, what, step, note FROM job_activity WHERE job_id = $1 ORDER BY at, id`, [jobId])) as {
    at: Date;
    by: string;
    what: ActivityKind;
    step: string | null;
    note: string | null;
  }[];
  return rows.map((r) => ({
    at: new Date(r.at).toISOString(),
    by: r.by,
    what: r.what,
    ...(r.step ? { step: r.step } : {}),
    ...(r.note ? { note: r.note } : {}),
  }));
}
