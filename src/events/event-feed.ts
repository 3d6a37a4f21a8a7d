// Tails deploy_events in `seq` order and hands each event, once, to this node's listeners.
// Every node reads the same table, so an event written by a worker anywhere reaches sockets
// connected anywhere; NOTIFY only says "look now", a poll backs it.
//
// Sequence values are taken at insert but become visible at commit, so a lower seq can appear
// after a higher one. The feed delivers in order: on a gap it waits (GAP_WAIT_MS) for the missing
// seq to commit, then passes it (a rolled-back insert leaves a hole forever) but keeps asking for
// it for HOLE_MEMORY_MS, and delivers it late if it appears: a transaction that commits slowly
// reaches clients out of order rather than never.
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import type { DeployEvent } from './event.types.js';

const GAP_WAIT_MS = 1000;
const HOLE_MEMORY_MS = 30_000;
/** holes remembered at most; past it the oldest are forgotten (a sequence jump, a mass rollback) */
const HOLE_LIMIT = 1000;
const BATCH = 500;

interface EventRow {
  seq: string;
  type: string;
  job_id: string | null;
  step_id: string | null;
  deployment_id: string | null;
  group_id: string | null;
  cluster_id: string | null;
  payload: Record<string, unknown>;
  at: Date;
}

export function toDeployEvent(row: EventRow): DeployEvent {
  return {
    ...(row.payload as object),
    seq: Number(row.seq),
    type: row.type as DeployEvent['type'],
    at: new Date(row.at).toISOString(),
    job_id: row.job_id!,
    step_id: row.step_id,
    deployment_id: row.deployment_id,
    group_id: row.group_id,
    cluster_id: row.cluster_id,
  };
}

export class EventFeed {
  private readonly logger = new Logger('EventFeed');
  private readonly listeners = new Set<(event: DeployEvent, late: boolean) => void>();
  private last = 0;
  private gapSince: number | null = null;
  /** seqs passed while missing → when; in seq order (Map keeps insertion order) */
  private readonly holes = new Map<number, number>();
  private reading = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: PubSub,
    private readonly pollMs = 1000,
  ) {}

  async start(): Promise<void> {
    const [row] = (await this.dataSource.query('SELECT COALESCE(max(seq), 0) AS max FROM deploy_events')) as { max: string }[];
    this.last = Number(row?.max ?? 0);
    // Inserts still uncommitted below the start position are holes like any other.
    const missing = (await this.dataSource.query(
      'SELECT s AS seq FROM generate_series(GREATEST($1::bigint - $2, 1), $1::bigint) s WHERE NOT EXISTS (SELECT 1 FROM deploy_events WHERE seq = s)',
      [this.last, HOLE_LIMIT],
    )) as { seq: string }[];
    for (const { seq } of missing) this.holes.set(Number(seq), Date.now());
    this.unsubscribe = this.pubsub.subscribe(CHANNELS.events, () => this.poke());
    this.timer = setInterval(() => this.poke(), this.pollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.listeners.clear();
  }

  /** The last seq handed to the listeners in order (late holes aside): every event after it is still to come. */
  get position(): number {
    return this.last;
  }

  /** Whether `seq` was passed while missing and may still be delivered late. */
  isHole(seq: number): boolean {
    return this.holes.has(seq);
  }

  onEvent(listener: (event: DeployEvent, late: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Read now (coalescing bursts of notifications into one read at a time). */
  poke(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.read()
      .catch((error: Error) => this.logger.warn(`reading events failed: ${error.message}`))
      .finally(() => {
        this.reading = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async read(): Promise<void> {
    await this.readHoles();
    for (;;) {
      const rows = (await this.dataSource.query('SELECT * FROM deploy_events WHERE seq > $1 ORDER BY seq LIMIT $2', [this.last, BATCH])) as EventRow[];
      if (rows.length === 0) return;
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== this.last + 1 && !this.gapExpired()) {
          // Wait for the missing seq; the poll timer brings us back.
          setTimeout(() => this.poke(), GAP_WAIT_MS / 4);
          return;
        }
        this.gapSince = null;
        for (let missing = Math.max(this.last + 1, seq - HOLE_LIMIT); missing < seq; missing++) this.holes.set(missing, Date.now());
        this.last = seq;
        this.deliver(row, false);
      }
      if (rows.length < BATCH) return;
    }
  }

  /** Delivers the holes that appeared since, and forgets those too old to wait for. */
  private async readHoles(): Promise<void> {
    const now = Date.now();
    for (const [seq, since] of this.holes) if (now - since > HOLE_MEMORY_MS || this.holes.size > HOLE_LIMIT) this.holes.delete(seq);
    if (this.holes.size === 0) return;
    const rows = (await this.dataSource.query('SELECT * FROM deploy_events WHERE seq = ANY($1::bigint[]) ORDER BY seq', [[...this.holes.keys()]])) as EventRow[];
    for (const row of rows) {
      this.holes.delete(Number(row.seq));
      this.deliver(row, true);
    }
  }

  private deliver(row: EventRow, late: boolean): void {
    const event = toDeployEvent(row);
    for (const listener of this.listeners) listener(event, late);
  }

  private gapExpired(): boolean {
    this.gapSince ??= Date.now();
    return Date.now() - this.gapSince >= GAP_WAIT_MS;
  }
}
