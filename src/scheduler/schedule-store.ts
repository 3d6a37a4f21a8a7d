// The only code that writes SQL for schedules: keeping the rows in step with the books and the
// inventory, reading them with their target, and recording what a firing did.
import type { DataSource } from 'typeorm';
import type { ScheduleEntry } from '../books/book.types.js';

export interface ScheduleRow {
  id: string;
  book_name: string;
  scope: 'deployment' | 'group' | 'cluster';
  target_id: string;
  entry_index: number;
  spec: ScheduleEntry;
  override: ScheduleEntry | null;
  enabled: boolean;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_job_id: string | null;
  last_result: string | null;
  last_error: string | null;
  /** from the current book version; null if it was retired since the last sync */
  action: string | null;
  target_name: string | null;
  /** the cluster the target belongs to: what a scoped token may see */
  cluster_id: string | null;
}

export interface Outcome {
  jobId: string | null;
  result: 'created' | 'existing' | 'refused' | 'skipped';
  error: string | null;
}

// Two nodes syncing at once would otherwise take the same rows' locks in different orders.
const SYNC_LOCK = 7_140_031;

/**
 * The schedules every loaded book asks for: one per entry (by its position in `schedules:`)
 * and target. Deployment books: each deployment of the book's kind. Group and cluster books:
 * each group or cluster whose `vars.kind` is the book's kind or unset (the records
 * JobsService would run the book on).
 */
const SYNC = `
WITH entries AS (
  SELECT bv.name AS book_name, bv.scope, bv.kind, (e.ord - 1)::int AS entry_index, e.spec
  FROM book_versions bv
  CROSS JOIN LATERAL jsonb_array_elements(COALESCE(bv.definition->'schedules', '[]'::jsonb)) WITH ORDINALITY AS e(spec, ord)
  WHERE bv.is_current
), wanted AS (
  SELECT e.*, d.id AS target_id FROM entries e JOIN deployments d ON e.scope = 'deployment' AND d.kind = e.kind
  UNION ALL
  SELECT e.*, g.id FROM entries e JOIN deployment_groups g ON e.scope = 'group' AND COALESCE(g.vars->>'kind', e.kind) = e.kind
  UNION ALL
  SELECT e.*, c.id FROM entries e JOIN clusters c ON e.scope = 'cluster' AND COALESCE(c.vars->>'kind', e.kind) = e.kind
), gone AS (
  DELETE FROM schedules s
  WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.book_name = s.book_name AND w.target_id = s.target_id AND w.entry_index = s.entry_index)
  RETURNING s.id
), gone_firings AS (
  DELETE FROM schedule_firings f USING gone WHERE f.schedule_id = gone.id
)
INSERT INTO schedules (book_name, scope, target_id, entry_index, spec)
SELECT book_name, scope, target_id, entry_index, spec FROM wanted
ON CONFLICT (book_name, target_id, entry_index) DO UPDATE
  SET spec = EXCLUDED.spec, scope = EXCLUDED.scope,
      -- an edited entry starts again from its new spec, unless an override decides its times
      next_run_at = CASE WHEN schedules.override IS NULL AND schedules.spec IS DISTINCT FROM EXCLUDED.spec THEN NULL ELSE schedules.next_run_at END
  WHERE schedules.spec IS DISTINCT FROM EXCLUDED.spec OR schedules.scope IS DISTINCT FROM EXCLUDED.scope`;

const SELECT = `
SELECT s.*, bv.definition->>'action' AS action,
       COALESCE(d.name, g.name, c.name) AS target_name,
       COALESCE(d.cluster_id, g.cluster_id, c.id) AS cluster_id
FROM schedules s
LEFT JOIN book_versions bv ON bv.name = s.book_name AND bv.is_current
LEFT JOIN deployments d ON s.scope = 'deployment' AND d.id = s.target_id
LEFT JOIN deployment_groups g ON s.scope = 'group' AND g.id = s.target_id
LEFT JOIN clusters c ON s.scope = 'cluster' AND c.id = s.target_id`;

export class ScheduleStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Creates, updates and deletes rows to match the books and inventory; `enabled` and `override` are kept. */
  async sync(): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [SYNC_LOCK]);
      await manager.query(SYNC);
    });
  }

  /** Rows whose next slot is unknown: new, edited, or never computed. */
  async unplanned(): Promise<ScheduleRow[]> {
    return this.dataSource.query(`${SELECT} WHERE s.next_run_at IS NULL`);
  }

  /** Sets the next slot of a row still unplanned (another node may have done it meanwhile). */
  async plan(id: string, next: Date): Promise<void> {
    await this.dataSource.query(`UPDATE schedules SET next_run_at = $2 WHERE id = $1 AND next_run_at IS NULL`, [id, next]);
  }

  /** Enabled schedules whose slot has come, by the database's clock (every node agrees on it). */
  async due(limit: number): Promise<{ rows: ScheduleRow[]; now: Date }> {
    const rows = (await this.dataSource.query(
      `${SELECT}, (SELECT now() AS db_now) n WHERE s.enabled AND s.next_run_at <= n.db_now ORDER BY s.next_run_at LIMIT $1`,
      [limit],
    )) as (ScheduleRow & { db_now: Date })[];
    const now = rows[0]?.db_now ?? (await this.now());
    return { rows, now };
  }

  async now(): Promise<Date> {
    const [row] = (await this.dataSource.query('SELECT now() AS now')) as { now: Date }[];
    return row!.now;
  }

  async list(filter: { deploymentId?: string; book?: string; clusterIds?: string[] | null }): Promise<ScheduleRow[]> {
    return this.dataSource.query(
      `${SELECT}
       WHERE ($1::uuid IS NULL OR (s.scope = 'deployment' AND s.target_id = $1))
         AND ($2::text IS NULL OR s.book_name = $2)
         AND ($3::uuid[] IS NULL OR COALESCE(d.cluster_id, g.cluster_id, c.id) = ANY($3))
       ORDER BY s.book_name, target_name, s.entry_index`,
      [filter.deploymentId ?? null, filter.book ?? null, filter.clusterIds ?? null],
    );
  }

  async get(id: string): Promise<ScheduleRow | null> {
    const rows = (await this.dataSource.query(`${SELECT} WHERE s.id = $1`, [id])) as ScheduleRow[];
    return rows[0] ?? null;
  }

  async update(id: string, fields: { enabled?: boolean; override?: ScheduleEntry | null; next_run_at?: Date | null }): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [id];
    for (const [column, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      values.push(column === 'override' && value !== null ? JSON.stringify(value) : value);
      sets.push(`${column} = $${values.length}`);
    }
    if (sets.length) await this.dataSource.query(`UPDATE schedules SET ${sets.join(', ')} WHERE id = $1`, values);
  }

  /** The job a firing's Idempotency-Key made, on whichever node. */
  async jobOfKey(key: string): Promise<string | null> {
    const rows = (await this.dataSource.query(`SELECT id FROM jobs WHERE idempotency_scope = 'engine' AND idempotency_key = $1`, [
      key,
    ])) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  /**
   * Records a fired slot (once, whichever node gets there first) and moves the schedule on to
   * its next slot, unless another node already did: the compare on `next_run_at` keeps a slow
   * node from moving a schedule back.
   */
  async recordSlot(id: string, dueAt: Date, next: Date, outcome: Outcome): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (outcome.result !== 'skipped') {
        await manager.query(
          `INSERT INTO schedule_firings (schedule_id, fire_at, job_id, result, error) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [id, dueAt, outcome.jobId, outcome.result, outcome.error],
        );
      }
      await manager.query(
        `UPDATE schedules SET next_run_at = $3, last_run_at = $2, last_job_id = COALESCE($4, last_job_id), last_result = $5, last_error = $6
         WHERE id = $1 AND next_run_at = $2`,
        [id, dueAt, next, outcome.jobId, outcome.result, outcome.error],
      );
    });
  }

  /** Run now: the schedule's last run is this one; its next slot stays. */
  async recordRun(id: string, outcome: Outcome): Promise<void> {
    await this.dataSource.query(
      `UPDATE schedules SET last_run_at = now(), last_job_id = COALESCE($2, last_job_id), last_result = $3, last_error = $4 WHERE id = $1`,
      [id, outcome.jobId, outcome.result, outcome.error],
    );
  }
}
