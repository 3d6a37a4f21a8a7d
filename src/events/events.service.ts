import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { DeployEvent, DeployEventInput } from './event.types.js';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import { PUBSUB } from '../db/pubsub.provider.js';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';

interface EventRow {
  seq: string;
  at: Date;
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

  async record(manager: EntityManager, input: DeployEventInput): Promise<DeployEvent> {
    const { type, job_id, step_id = null, deployment_id, group_id, cluster_id, ...rest } = input;
    const payload = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const [row] = (await manager.query(
      `INSERT INTO deploy_events (type, job_id, step_id, deployment_id, group_id, cluster_id, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq, at`,
      [type, job_id, step_id, deployment_id, group_id, cluster_id, payload],
    )) as EventRow[];
    return { ...input, ...payload, step_id, seq: Number(row!.seq), at: row!.at.toISOString() };
  }

  /** Call after the transaction that recorded the events committed. */
  publish(events: DeployEvent[]): void {
    if (events.length === 0) return;
    void this.pubsub.publish(CHANNELS.events, String(events[events.length - 1]!.seq)).catch(() => undefined);
  }

  onApplicationBootstrap(): void {
    // Events are the largest table: keep `QUIRE_EVENT_RETENTION_DAYS` of them.
    this.pruner = setInterval(() => void this.prune(), 3600_000);
    this.pruner.unref();
  }

  onApplicationShutdown(): void {
    if (this.pruner) clearInterval(this.pruner);
  }

  async prune(): Promise<number> {
    try {
      const result = (await this.dataSource.query(`DELETE FROM deploy_events WHERE at < now() - make_interval(days => $1)`, [
        this.config.eventRetentionDays,
      ])) as [unknown[], number];
      return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
    } catch (error) {
      this.logger.warn(`pruning events failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
