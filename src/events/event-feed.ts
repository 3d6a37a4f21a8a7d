// Hands each committed deploy event, once, to this node's listeners, in `seq` order, as soon as
// the seqs below it are in. Every node runs one; events written by a worker anywhere reach
// sockets connected anywhere.
//
// Where events come from:
// - The `quire_events` NOTIFY of the writing transaction, which carries the row itself
//   (EventsService.notifyPayload), or only its seq when the row does not fit in 8000 bytes (read
//   back then). No table read in the common case.
// - A poll (every `pollMs`, and when the LISTEN connection comes back) for rows no notification
//   announced: inserted by hand, or notified while this node's LISTEN connection was down.
//
// Why seq order: a client that reconnects with the last seq it saw as `since` (DESIGN.md
// "Interfaces") gets every event after it from the table. Delivered in commit order, seq 9 could
// reach it before seq 7, and `since=9` would never replay 7. Seqs are taken at insert and become
// visible at commit, so concurrent transactions leave gaps: rows above a gap wait in `ahead` and
// go out the moment the missing seq's own notification arrives; after GAP_WAIT_MS the missing
// seq is passed (a rolled-back insert never fills) as a hole, still delivered late if it appears
// within HOLE_MEMORY_MS: a transaction that commits slowly reaches clients out of order rather
// than never. Writers commit within a millisecond or two of their event insert, so a gap
// normally closes with the next notification. bench/event-latency.mjs (20 jobs, 100 clients),
// 2-core box at load 1.5-1.8, five runs alternated, with main's single-statement engine writes
// carrying the row in their NOTIFY: p50 17-19 ms, p99 54-60 in seq order; 16-20, p99 46-64 in
// commit order (no measurable cost for the order); 23-27, p99 63-81 reading the table after each
// NOTIFY with a 250 ms gap re-poll (main a96f5c3).
//
// Why this node's own commits go through NOTIFY too, rather than to its sockets straight from
// the commit: the echo costs the floor (0.1-0.6 ms) and keeps one order on every node.
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CHANNELS, type PubSub } from '../db/pubsub.js';
import type { DeployEvent } from './event.types.js';

/** a missing seq is waited for this long before the rows above it go out without it */
const GAP_WAIT_MS = 1000;
/** a hole is asked for this long (a transaction that commits later than this is only replayed) */
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

export class EventFeed {
  private readonly logger = new Logger('EventFeed');
  private readonly listeners = new Set<(event: DeployEvent, late: boolean) => void>();
  /** the last seq handed over in order (or passed as a hole): every event after it is still to come */
  private last = 0;
  /** rows above `last + 1` that came before it, waiting for the gap below them → when they came */
  private readonly ahead = new Map<number, { row: EventRow; at: number }>();
  /** when the gap at `last + 1` began to hold rows back, and the timer that passes it */
  private gapSince: number | null = null;
  private gapTimer: NodeJS.Timeout | null = null;
  private timedGap: number | null = null;
  /** seqs passed while missing → since when; in seq order (Map keeps insertion order) */
  private readonly holes = new Map<number, number>();
  private polling = false;
  private pollAgain = false;
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
    this.unsubscribe = this.pubsub.subscribe(CHANNELS.events, (payload) => this.notified(payload));
    this.timer = setInterval(() => this.poke(), this.pollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
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

  /** Look in the table now (coalescing bursts into one read at a time). */
  poke(): void {
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    void this.poll()
      .catch((error: Error) => this.logger.warn(`reading events failed: ${error.message}`))
      .finally(() => {
        this.polling = false;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.poke();
        }
      });
  }

  private notified(payload: string): void {
    let parsed: ReturnType<typeof parseNotification>;
    try {
      parsed = parseNotification(payload);
    } catch (error) {
      this.logger.warn(`unreadable event notification (${(error as Error).message}); reading the table`);
      return this.poke();
    }
    if ('rows' in parsed) return this.accept(parsed.rows);
    if ('poll' in parsed) return this.poke();
    // A row too large to carry: read back, while the rows above it wait in `ahead` (no order to
    // keep between read-backs: `accept` puts every row in its place). A failed read leaves the
    // seq to the poll.
    void this.rowsBySeq(parsed.seqs)
      .then((rows) => this.accept(rows))
      .catch((error: Error) => this.logger.warn(`reading events failed: ${error.message}`));
  }

  /** Rows above the position no notification brought, and holes that appeared without one. */
  private async poll(): Promise<void> {
    this.forgetOldHoles();
    if (this.holes.size) this.accept(await this.rowsBySeq([...this.holes.keys()]));
    for (let after = this.last; ; ) {
      const rows = (await this.dataSource.query('SELECT * FROM deploy_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, BATCH])) as EventRow[];
      this.accept(rows);
      if (rows.length < BATCH) return;
      after = Number(rows[rows.length - 1]!.seq);
    }
  }

  private async rowsBySeq(seqs: number[]): Promise<EventRow[]> {
    return (await this.dataSource.query('SELECT * FROM deploy_events WHERE seq = ANY($1::bigint[]) ORDER BY seq', [seqs])) as EventRow[];
  }

  /** Takes rows in any order: delivers a hole late, holds a row above a gap, and hands over the contiguous prefix. */
  private accept(rows: EventRow[]): void {
    const now = Date.now();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq <= this.last) {
        if (this.holes.delete(seq)) this.deliver(row, true);
        // else delivered already (a poll and the notification both brought it), or forgotten
      } else if (!this.ahead.has(seq)) {
        this.ahead.set(seq, { row, at: now });
      }
    }
    this.advance(now);
  }

  /** Hands over `ahead` from `last + 1` while it is contiguous; a gap held GAP_WAIT_MS is passed as holes. */
  private advance(now: number): void {
    for (;;) {
      const next = this.ahead.get(this.last + 1);
      if (next) {
        this.ahead.delete(++this.last);
        this.gapSince = null; // a gap further up is timed from the rows above it
        this.deliver(next.row, false);
        continue;
      }
      if (this.ahead.size === 0) {
        this.gapSince = null;
        break;
      }
      // The missing seq has been missing since the first row above it came.
      this.gapSince ??= earliest(this.ahead.values(), (a) => a.at);
      if (now - this.gapSince < GAP_WAIT_MS) break;
      const lowest = earliest(this.ahead.keys(), (seq) => seq);
      for (let missing = Math.max(this.last + 1, lowest - HOLE_LIMIT); missing < lowest; missing++) this.holes.set(missing, now);
      if (this.holes.size > HOLE_LIMIT) this.forgetOldHoles();
      this.last = lowest - 1;
      this.gapSince = null; // the next gap, if any, is timed from the rows above it
    }
    this.armGapTimer(now);
  }

  /** One timer for the gap at `last + 1`, set again only when that gap changes (not per notification). */
  private armGapTimer(now: number): void {
    if (this.gapTimer && this.timedGap === this.gapSince) return;
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    this.timedGap = this.gapSince;
    if (this.gapSince === null) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      this.advance(Date.now());
    }, Math.max(0, this.gapSince + GAP_WAIT_MS - now));
    this.gapTimer.unref(); // a read back resolving after stop() must not hold the process
  }

  private deliver(row: EventRow, late: boolean): void {
    const event = toDeployEvent(row);
    for (const listener of this.listeners) listener(event, late);
  }

  private forgetOldHoles(): void {
    const now = Date.now();
    for (const [seq, since] of this.holes) {
      if (now - since <= HOLE_MEMORY_MS && this.holes.size <= HOLE_LIMIT) break; // the rest are newer
      this.holes.delete(seq);
    }
  }
}

/** The least of `key` over `items` (a loop: `ahead` can hold a poll's worth of rows, too many to spread into Math.min). */
function earliest<T>(items: Iterable<T>, key: (item: T) => number): number {
  let least = Infinity;
  for (const item of items) least = Math.min(least, key(item));
  return least;
}
