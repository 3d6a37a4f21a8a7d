import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DeployEvent, DeployEventInput } from './event.types.js';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import type { Statement } from '../db/one-trip.js';
import { PUBSUB } from '../db/pubsub.provider.js';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';

const PRUNE_FIRST_MS = 5_000;
const PRUNE_EVERY_MS = 3600_000;
const PRUNE_BATCH = 10_000;

interface EventRow {
  seq: string;
  at: Date;
}

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const NOTIFY_PAYLOAD_MAX = 7999;

/**
 * The `quire_events` payload for one inserted event row, as a SQL expression over `alias` (the
 * row, e.g. an `INSERT ... RETURNING *` CTE; several rows make one notification each): the row
 * as JSON (`row_to_json`, what EventFeed turns into a DeployEvent), or only its seq when the JSON
 * does not fit (a large output chunk, an error with a long message), which makes every node read
 * that row back (EventFeed keeps seq order). A read back per notification is a query per event on every node: 360 events a
 * second in bench/event-latency.mjs.
 */
export function notifyPayload(alias: string): string {
  return `(SELECT CASE WHEN octet_length(j) <= ${NOTIFY_PAYLOAD_MAX} THEN j ELSE ${alias}.seq::text END FROM (SELECT row_to_json(${alias})::text AS j) AS notify_json)`;
}

/**
 * A CTE `name` that announces every row of the events CTE `events` (inserted `RETURNING *`),
 * one notification each, in seq order (sorted before the calls: a volatile function in the
 * select list would run before an ORDER BY at the same level). Delivered at commit, never for a
 * statement or transaction that rolls back. The caller selects `count(*)` from it, so it runs.
 */
export function notifiedCte(name: string, events: string): string {
  return `${name} AS (SELECT pg_notify('${CHANNELS.events}', ${notifyPayload('ev')}) AS n FROM (SELECT * FROM ${events} ORDER BY seq) ev)`;
}

/** An event as its row stores it: the columns, and the rest as the payload. */
export function eventRow(input: DeployEventInput) {
  const { type, job_id, step_id = null, deployment_id, group_id, cluster_id, ...rest } = input;
  const payload = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { input, type, job_id, step_id, deployment_id, group_id, cluster_id, payload };
}

/** Event rows as the six column arrays the inserts unnest (the payloads go apart). */
export function eventColumns(rows: ReturnType<typeof eventRow>[]) {
  return [
    rows.map((e) => e.type),
    rows.map((e) => e.job_id),
    rows.map((e) => e.step_id),
    rows.map((e) => e.deployment_id),
    rows.map((e) => e.group_id),
    rows.map((e) => e.cluster_id),
  ];
}

// Events are rows written in the same transaction as the change they report, so there is no
// state change without its event and no event for a change that rolled back. Once the
// transaction commits, `publish` tells every node's EventFeed to read them.
@Injectable()
export class EventsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Events');
  private pruner: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(PUBSUB) private readonly pubsub: PubSub,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
  ) {}

  /**
   * The statement that records a transaction's events, in the order given (their seqs follow
   * it), and how to read what it returns as clients receive the events. `wake`: the same commit
   * also wakes every node's claim loop (the job left a worker). One INSERT for all of a
   * transaction's events, not one each: a one-step job writes five events in three transactions
   * (issue 9). JobStore sends it with the transaction's COMMIT, in one round trip.
   */
  recording(inputs: DeployEventInput[], { wake = false }: { wake?: boolean } = {}): { statement: Statement; read(rows: unknown[]): DeployEvent[] } | null {
    if (inputs.length === 0) return null;
    const split = inputs.map(eventRow);
    // With NOTIFY that follows the commit (PostgreSQL), the insert announces itself: delivered
    // when this transaction commits, never for one that rolls back, and without a separate
    // autocommitted `SELECT pg_notify` after it (a commit of its own per written transaction).
    // WITH ORDINALITY ... ORDER BY: the seqs are drawn in the order the events were emitted.
    const insert = `INSERT INTO deploy_events (type, job_id, step_id, deployment_id, group_id, cluster_id, payload)
       SELECT type, job_id, step_id, deployment_id, group_id, cluster_id, payload
       FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::jsonb[])
         WITH ORDINALITY AS e(type, job_id, step_id, deployment_id, group_id, cluster_id, payload, ord)
       ORDER BY ord
       RETURNING *`;
    const wakeUp = wake ? `, pg_notify('${CHANNELS.jobs}', '')` : '';
    const text = this.pubsub.transactional
      ? `WITH e AS (${insert}), ${notifiedCte('n', 'e')} SELECT e.seq, e.at${wakeUp} FROM e, (SELECT count(*) FROM n) c`
      : insert.replace('RETURNING *', 'RETURNING seq, at');
    return {
      statement: { text, values: [...eventColumns(split), split.map((e) => JSON.stringify(e.payload))] },
      read: (rows) => {
        const ordered = (rows as EventRow[]).map((row) => ({ seq: Number(row.seq), at: row.at })).sort((a, b) => a.seq - b.seq);
        return split.map(({ input, step_id, payload }, i) => ({ ...input, ...payload, step_id, seq: ordered[i]!.seq, at: ordered[i]!.at.toISOString() }));
      },
    };
  }

  /** Call after the transaction that recorded the events committed; `wake` as in `record`. */
  publish(events: DeployEvent[], { wake = false }: { wake?: boolean } = {}): void {
    if (events.length === 0 || this.pubsub.transactional) return;
    // Seqs only: EventFeed reads these rows back (PubSub implementations without transactional NOTIFY).
    void this.pubsub.publish(CHANNELS.events, events.map((e) => e.seq).join(',')).catch(() => undefined);
    if (wake) void this.pubsub.publish(CHANNELS.jobs).catch(() => undefined);
  }

  onApplicationBootstrap(): void {
    // Events are the largest table: keep `QUIRE_EVENT_RETENTION_DAYS` of them. First soon after
    // start (a node that restarts more often than hourly would otherwise never prune), not during it.
    this.pruner = setTimeout(() => {
      void this.prune();
      this.pruner = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
      this.pruner.unref();
    }, PRUNE_FIRST_MS);
    this.pruner.unref();
  }

  onApplicationShutdown(): void {
    if (this.pruner) clearInterval(this.pruner);
  }

  /**
   * Deletes the events older than the retention, `batch` rows a statement: one DELETE of a
   * month of events would hold its locks and bloat the WAL in one go. SKIP LOCKED lets nodes
   * pruning at once share the work instead of waiting on each other.
   */
  async prune(batch = PRUNE_BATCH): Promise<number> {
    let total = 0;
    try {
      const [{ cutoff }] = (await this.dataSource.query(`SELECT now() - make_interval(days => $1) AS cutoff`, [this.config.eventRetentionDays])) as [
        { cutoff: Date },
      ];
      for (;;) {
        const result = (await this.dataSource.query(
          `DELETE FROM deploy_events WHERE seq IN (SELECT seq FROM deploy_events WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [cutoff, batch],
        )) as [unknown[], number];
        const deleted = Array.isArray(result) ? Number(result[1] ?? 0) : 0;
        total += deleted;
        if (deleted < batch) return total;
      }
    } catch (error) {
      this.logger.warn(`pruning events failed: ${(error as Error).message}`);
      return total;
    }
  }
}
