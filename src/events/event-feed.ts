// Tails deploy_events in `seq` order and hands each event, once, to this node's listeners.
// Every node reads the same table, so an event written by a worker anywhere reaches sockets
// connected anywhere; NOTIFY (or the in-process bus) only says "look now", a poll backs it.
//
// Sequence values are taken at insert but become visible at commit, so a lower seq can appear
// after a higher one. The feed delivers strictly in order: on a gap it waits (GAP_WAIT_MS) for
// the missing seq to commit, and skips it only then (a rolled-back insert leaves a hole forever).
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import type { DeployEvent } from './event.types.js';

const GAP_WAIT_MS = 1000;
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
  private readonly listeners = new Set<(event: DeployEvent) => void>();
  private last = 0;
  private gapSince: number | null = null;
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
    this.unsubscribe = this.pubsub.subscribe(CHANNELS.events, () => this.poke());
    this.timer = setInterval(() => this.poke(), this.pollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.listeners.clear();
  }

  onEvent(listener: (event: DeployEvent) => void): () => void {
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
        this.last = seq;
        const event = toDeployEvent(row);
        for (const listener of this.listeners) listener(event);
      }
      if (rows.length < BATCH) return;
    }
  }

  private gapExpired(): boolean {
    this.gapSince ??= Date.now();
    return Date.now() - this.gapSince >= GAP_WAIT_MS;
  }
}
