// The only SQL on notification_deliveries. `owe` runs inside the transaction that ends a job
// (JobStore.finishJobIn), so the job's end and what it owes commit together or not at all, as
// chain links do; `claim` and `record` are the senders', on any node.
import type { DataSource, EntityManager } from 'typeorm';
import type { NotifyChannel } from '../books/book.types.js';
import { buildPayload, outputTail, type EndedJob, type Outcome } from './notification-content.js';
import type { NotificationDeliveryEntity } from './notification-delivery.entity.js';

/** A book's `notify` entries default to `on: [error]`. */
export function notifiesOn(channel: NotifyChannel, outcome: Outcome): boolean {
  return (channel.on ?? ['error']).includes(outcome);
}

/**
 * Records the deliveries this ending owes: one per `notify` entry whose `on` includes the
 * outcome. Keyed by (job, date_done, entry), so the same ending owes once; a resumed job that
 * ends again has another date_done and owes again. Call after the job row got its date_done.
 */
export async function oweNotifications(manager: EntityManager, job: EndedJob & { notify?: NotifyChannel[] | null }, outcome: Outcome): Promise<number> {
  const channels = (job.notify ?? []).map((channel, index) => ({ channel, index })).filter(({ channel }) => notifiesOn(channel, outcome));
  if (channels.length === 0) return 0;
  const [ended] = (await manager.query(`SELECT date_done, error FROM jobs WHERE id = $1`, [job.id])) as { date_done: Date; error: string | null }[];
  // The step that failed: the first in error (or cancelled), with the end of its stored output
  // (already masked of secrets when it was stored).
  const [failed] =
    outcome === 'done'
      ? []
      : ((await manager.query(
          `SELECT name, output FROM job_steps WHERE job_id = $1 AND state IN ('error', 'cancel') ORDER BY (state = 'error') DESC, position LIMIT 1`,
          [job.id],
        )) as { name: string; output: string | null }[]);
  const payload = buildPayload(job, outcome, { at: ended!.date_done, error: ended!.error, failedStep: failed?.name ?? null });
  const tail = outputTail(failed?.output);
  // An entry may name a webhook and an email: each is its own delivery (entry_index 2i and 2i+1).
  const rows = channels.flatMap(({ channel, index }) => [
    ...(channel.webhook !== undefined ? [{ entry: index * 2, kind: 'webhook', target: channel.webhook, secret: channel.secret ?? null }] : []),
    ...(channel.email !== undefined ? [{ entry: index * 2 + 1, kind: 'email', target: ([] as string[]).concat(channel.email).join(', '), secret: null }] : []),
  ]);
  for (const row of rows) {
    await manager.query(
      `INSERT INTO notification_deliveries (job_id, job_ended_at, entry_index, channel, target, secret_name, outcome, payload, output_tail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [job.id, ended!.date_done, row.entry, row.kind, row.target, row.secret, outcome, JSON.stringify(payload), tail],
    );
  }
  return rows.length;
}

export class NotificationStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Takes up to `limit` due deliveries for this node: SKIP LOCKED so nodes polling together
   * share them, and next_attempt_at moved a lease ahead in the same statement, so the claim
   * holds no transaction while sending and a sender that dies lets them fall due again.
   */
  async claim(node: string, limit: number, leaseSeconds: number): Promise<NotificationDeliveryEntity[]> {
    const rows = (await this.dataSource.query(
      `UPDATE notification_deliveries d SET attempts = d.attempts + 1, locked_by = $1, next_attempt_at = now() + make_interval(secs => $3)
       FROM (SELECT id FROM notification_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
       WHERE d.id = due.id
       RETURNING d.*, EXTRACT(EPOCH FROM now() - d.job_ended_at)::float8 AS age_s`,
      [node, limit, leaseSeconds],
    )) as [(NotificationDeliveryEntity & { age_s: number })[], number];
    return rows[0];
  }

  /** The attempt's result; only the node that claimed this attempt may record it. */
  async sent(delivery: NotificationDeliveryEntity, node: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE notification_deliveries SET state = 'sent', date_sent = now() WHERE id = $1 AND locked_by = $2 AND attempts = $3`,
      [delivery.id, node, delivery.attempts],
    );
  }

  async failed(delivery: NotificationDeliveryEntity, node: string, error: string, next: { state: 'pending' | 'failed'; delaySeconds: number }): Promise<void> {
    await this.dataSource.query(
      `UPDATE notification_deliveries SET state = $4, last_error = $5, next_attempt_at = now() + make_interval(secs => $6)
       WHERE id = $1 AND locked_by = $2 AND attempts = $3`,
      [delivery.id, node, delivery.attempts, next.state, error.slice(0, 2000), next.delaySeconds],
    );
  }

  /** What `GET /api/jobs/{id}` shows of each delivery, oldest ending first. */
  async forJob(jobId: string): Promise<NotificationView[]> {
    const rows = (await this.dataSource.query(
      `SELECT channel, outcome, state, attempts, last_error, date_sent FROM notification_deliveries WHERE job_id = $1 ORDER BY job_ended_at, entry_index`,
      [jobId],
    )) as { channel: string; outcome: string; state: string; attempts: number; last_error: string | null; date_sent: Date | null }[];
    return rows.map((r) => ({
      channel: r.channel,
      on: r.outcome,
      state: r.state,
      attempts: r.attempts,
      last_error: r.last_error,
      date_sent: r.date_sent ? new Date(r.date_sent).toISOString() : null,
    }));
  }

  async pending(): Promise<number> {
    const [row] = (await this.dataSource.query(`SELECT count(*)::int AS n FROM notification_deliveries WHERE state = 'pending'`)) as { n: number }[];
    return row?.n ?? 0;
  }
}

export interface NotificationView {
  channel: string;
  /** the outcome this delivery notifies */
  on: string;
  /** pending, sent or failed */
  state: string;
  attempts: number;
  last_error: string | null;
  date_sent: string | null;
}
