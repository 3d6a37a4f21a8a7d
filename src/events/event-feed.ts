// Hands each committed deploy event, once, to this node's listeners, in commit order, as soon as
// its transaction commits. Every node runs one; events written by a worker anywhere reach sockets
// connected anywhere.
//
// Where events come from:
// - The `quire_events` NOTIFY of the writing transaction, which carries the row itself
//   (EventsService.notifyPayload), or only its seq when the row does not fit in 8000 bytes.
//   PostgreSQL delivers notifications at commit, to every listener, in commit order, so every
//   node sees the same order, and within one job (whose writers all hold the job's row lock)
//   commit order is seq order.
// - A poll (every `pollMs`, and when the LISTEN connection comes back) for rows no notification
//   announced: inserted by hand, or notified while this node's LISTEN connection was down.
//
// Why not seq order: seqs are taken at insert and become visible at commit, so concurrent
// transactions leave gaps that close when (if) the older transaction commits. Waiting them out,
// as this feed did, made every event as slow as the slowest transaction in flight beside it.
// bench/event-latency.mjs (20 jobs, 100 clients), 2-core box at load 8, runs alternated: p50
// 157/213/72 ms, p99 439/457/237 waiting out gaps; 106/87/44, p99 245/253/95 at commit. Most of
// what is left is before the commit: insert → NOTIFY at an idle listener was 19-46 ms p50 in those
// runs (the writer's transaction after its event insert). A seq below the highest one delivered is a "hole"
// until its event arrives, and is delivered then, late, instead of being waited for.
//
// Why this node's own commits go through NOTIFY too, rather than to its sockets straight from
// the commit: the echo costs the floor (0.1-0.6 ms) and keeps one order on every node. Handed
// over at once, a node's commit (a cancel from its API) could overtake the notification of an
// earlier commit on another node (that job's step event) still in its LISTEN socket, and reorder
// one job's events for this node's clients only.
//
// `since` replay and holes: EventsGateway replays from the table and then takes live events from
// here; `holes()` tells it which seqs below a client's `since` may still arrive (see there).
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import type { DeployEvent } from './event.types.js';

/** A hole is asked for this long (a transaction that commits later than this is only replayed). */
const HOLE_MEMORY_MS = 30_000;
/** holes remembered at most; past it the oldest are forgotten (a sequence jump, a mass rollback) */
const HOLE_LIMIT = 1000;
const BATCH = 500;

export interface EventRow {
  seq: string | number;
  type: string;
  job_id: string | null;
  step_id: string | null;
  deployment_id: string | null;
  group_id: string | null;
  cluster_id: string | null;
  payload: Record<string, unknown>;
  at: Date | string;
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

/**
 * A `quire_events` payload: the event row as JSON, or seqs to read back (comma-separated; the
 * form of rows too large to carry, and of writers without transactional NOTIFY), or nothing
 * (the LISTEN connection came back: look in the table).
 */
export function parseNotification(payload: string): { rows: EventRow[] } | { seqs: number[] } | { poll: true } {
  if (payload.startsWith('{')) return { rows: [JSON.parse(payload) as EventRow] };
  if (payload.startsWith('[')) return { rows: JSON.parse(payload) as EventRow[] };
  const seqs = payload
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  return seqs.length ? { seqs } : { poll: true };
}

/** Work taken in arrival order: a read blocks the notifications behind it, so none overtakes it. */
type Intake = { rows: EventRow[] } | { seqs: number[] } | { poll: true };

export class EventFeed {
  private readonly logger = new Logger('EventFeed');
  private readonly listeners = new Set<(event: DeployEvent, late: boolean) => void>();
  /** the highest seq delivered: every seq at or below it was delivered, is a hole, or was forgotten */
  private top = 0;
  /** seqs below `top` not delivered yet → since when: in flight, rolled back, or never notified; in seq order of discovery */
  private readonly holes = new Map<number, number>();
  private readonly intake: Intake[] = [];
  private pumping = false;
  private pollQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pubsub: PubSub,
    private readonly pollMs = 1000,
  ) {}

  async start(): Promise<void> {
    const [row] = (await this.dataSource.query('SELECT COALESCE(max(seq), 0) AS max FROM deploy_events')) as { max: string }[];
    this.top = Number(row?.max ?? 0);
    // Inserts still uncommitted below the start position are holes like any other.
    const missing = (await this.dataSource.query(
      'SELECT s AS seq FROM generate_series(GREATEST($1::bigint - $2, 1), $1::bigint) s WHERE NOT EXISTS (SELECT 1 FROM deploy_events WHERE seq = s)',
      [this.top, HOLE_LIMIT],
    )) as { seq: string }[];
    for (const { seq } of missing) this.holes.set(Number(seq), Date.now());
    this.unsubscribe = this.pubsub.subscribe(CHANNELS.events, (payload) => this.notified(payload));
    this.timer = setInterval(() => this.poke(), this.pollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.listeners.clear();
  }

  /** The highest seq delivered. */
  get position(): number {
    return this.top;
  }

  /** Whether `seq` is below the position but not delivered yet (it may still come, late). */
  isHole(seq: number): boolean {
    return this.holes.has(seq);
  }

  /** The holes at or below `seq`. */
  holesUpTo(seq: number): number[] {
    return [...this.holes.keys()].filter((s) => s <= seq);
  }

  onEvent(listener: (event: DeployEvent, late: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Look in the table now (coalesced: one poll waits at most). */
  poke(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    this.take({ poll: true });
  }

  private notified(payload: string): void {
    let intake: Intake;
    try {
      intake = parseNotification(payload);
    } catch (error) {
      this.logger.warn(`unreadable event notification (${(error as Error).message}); reading the table`);
      intake = { poll: true };
    }
    if ('poll' in intake) this.poke();
    else this.take(intake);
  }

  private take(intake: Intake): void {
    // The common case costs no promise: rows carried by the notification, nothing queued before them.
    if ('rows' in intake && !this.pumping) return this.accept(intake.rows);
    this.intake.push(intake);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let item = this.intake.shift(); item; item = this.intake.shift()) {
        try {
          if ('rows' in item) this.accept(item.rows);
          else if ('seqs' in item) this.accept(await this.rowsBySeq(item.seqs));
          else {
            this.pollQueued = false;
            await this.poll();
          }
        } catch (error) {
          this.logger.warn(`reading events failed: ${(error as Error).message}`);
          // A notification's rows are in the table: the next poll finds them (they are holes or above the position).
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Rows above the position no notification brought, and holes that appeared without one. */
  private async poll(): Promise<void> {
    this.forgetOldHoles();
    if (this.holes.size) this.accept(await this.rowsBySeq([...this.holes.keys()]));
    for (;;) {
      const rows = (await this.dataSource.query('SELECT * FROM deploy_events WHERE seq > $1 ORDER BY seq LIMIT $2', [this.top, BATCH])) as EventRow[];
      this.accept(rows);
      if (rows.length < BATCH) return;
    }
  }

  private async rowsBySeq(seqs: number[]): Promise<EventRow[]> {
    return (await this.dataSource.query('SELECT * FROM deploy_events WHERE seq = ANY($1::bigint[]) ORDER BY seq', [seqs])) as EventRow[];
  }

  /** Delivers the rows not delivered yet, in the order given; a row above the position leaves the seqs it skipped as holes. */
  private accept(rows: EventRow[]): void {
    for (const row of rows) {
      const seq = Number(row.seq);
      let late = false;
      if (seq > this.top) {
        const now = Date.now();
        for (let missing = Math.max(this.top + 1, seq - HOLE_LIMIT); missing < seq; missing++) this.holes.set(missing, now);
        this.top = seq;
        if (this.holes.size > HOLE_LIMIT) this.forgetOldHoles();
      } else if (this.holes.delete(seq)) {
        late = true;
      } else {
        continue; // delivered already (a poll and the notification both brought it), or forgotten
      }
      const event = toDeployEvent(row);
      for (const listener of this.listeners) listener(event, late);
    }
  }

  private forgetOldHoles(): void {
    const now = Date.now();
    for (const [seq, since] of this.holes) {
      if (now - since <= HOLE_MEMORY_MS && this.holes.size <= HOLE_LIMIT) break; // the rest are newer
      this.holes.delete(seq);
    }
  }
}
