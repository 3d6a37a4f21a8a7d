import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { EntityManager } from 'typeorm';
import type { DeployEvent, DeployEventInput } from './event.types.js';

interface EventRow {
  seq: string;
  at: Date;
}

// Events are rows written in the same transaction as the change they report, so there is no
// state change without its event and no event for a change that rolled back. Subscribers in
// this process hear them once the transaction commits (`published`).
@Injectable()
export class EventsService {
  private readonly bus = new EventEmitter().setMaxListeners(0);

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
    for (const event of events) this.bus.emit('event', event);
  }

  onEvent(listener: (event: DeployEvent) => void): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }
}
