// socket.io on the service's port: the handshake is authenticated by token, `subscribe` joins a
// job, deployment, group or cluster (or everything) after a server-side check that the token may
// see it, `since` replays the stored events after that seq before the live ones, in order and
// without duplicates. The only code that touches sockets (STYLE.md habit 1).
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { DataSource } from 'typeorm';
import { EventFeed, toDeployEvent, type EventRow } from './event-feed.js';
import { EVENT_TYPES, type DeployEvent } from './event.types.js';
import { TokensService } from '../auth/tokens.service.js';
import { bearerToken, maySee, scopeParam, scopeSql, type Principal } from '../auth/principal.js';
import { PUBSUB } from '../db/pubsub.provider.js';
import type { PubSub } from '../db/pubsub.js';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';
import { isUuid } from '../common/input.js';
import { metrics } from '../observability/metrics.js';
import { unsafeInput } from '../common/input-safety.js';

type Kind = 'job' | 'deployment' | 'group' | 'cluster' | 'all';
const KINDS: Kind[] = ['job', 'deployment', 'group', 'cluster', 'all'];
const COLUMN: Record<Exclude<Kind, 'all'>, string> = { job: 'job_id', deployment: 'deployment_id', group: 'group_id', cluster: 'cluster_id' };
const REPLAY_LIMIT = 20_000;
const SENT_MEMORY = 5_000;

interface Subscription {
  kind: Kind;
  id: string | null;
  /** events are held here while the replay of this subscription runs */
  queue: DeployEvent[] | null;
  /** the client's `since`: it has every event up to it, so live ones up to it are not sent (late ones are) */
  since: number;
  /** only these event types, when the client asked for some (`types: ['job']`: no output chunks) */
  types: readonly string[] | null;
}

interface Client {
  socket: Socket;
  principal: Principal;
  subscriptions: Subscription[];
  /** recently sent seqs: one event matching several subscriptions is sent once */
  sent: Set<number>;
  /** late events (feed holes) a replay already sent: kept apart from `sent`, which forgets */
  sentLate: Set<number>;
}

type Ack = (answer: Record<string, unknown>) => void;

@Injectable()
export class EventsGateway implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Gateway');
  private readonly clients = new Map<string, Client>();
  private io: Server | null = null;
  private feed: EventFeed | null = null;
  private recheck: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: TokensService,
    @Inject(PUBSUB) private readonly pubsub: PubSub,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
  ) {}

  async attach(httpServer: HttpServer): Promise<void> {
    const io = new Server(httpServer, {
      serveClient: true,
      // A node shutting down takes no new connections: clients reconnect to another node, or to
      // this one once it is back.
      allowRequest: (req, callback) => (this.closing ? callback('shutting down', false) : callback(null, this.originAllowed(req))),
    });
    io.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown })?.token ?? bearerToken(socket.handshake.headers.authorization);
      if (typeof token !== 'string' || !token) return next(new Error('unauthorized: send auth: { token }'));
      this.tokens
        .verify(token)
        .then((principal) => {
          if (!principal) return next(new Error('unauthorized: invalid, revoked or expired token'));
          socket.data.principal = principal;
          next();
        })
        .catch(() => next(new Error('unauthorized: token check failed')));
    });
    io.on('connection', (socket) => this.connected(socket));
    this.io = io;
    this.feed = new EventFeed(this.dataSource, this.pubsub);
    this.feed.onEvent((event, late) => this.dispatch(event, late));
    await this.feed.start();
    // The handshake checked the token once; a connection outlives its revocation or expiry by this much at most.
    this.recheck = setInterval(() => void this.recheckTokens(), this.config.tokenRecheckSeconds * 1000);
    this.recheck.unref();
  }

  /**
   * Shutdown begins: close every socket.io connection now, while running steps get their grace
   * period. An open websocket is a connection the HTTP server's close would wait for forever (a
   * browser left open kept SIGTERM from ending, issue 8). Closing the transport (not a server
   * disconnect) lets clients reconnect by themselves, to another node or to this one restarted.
   */
  beforeApplicationShutdown(): void {
    this.closing = true;
    if (this.recheck) clearInterval(this.recheck);
    this.io?.engine.close();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.recheck) clearInterval(this.recheck);
    this.feed?.stop();
    await new Promise<void>((resolve) => (this.io ? this.io.close(() => resolve()) : resolve()));
  }

  /** Browsers send Origin: it must be this server's own, or listed in QUIRE_ALLOWED_ORIGINS. */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true; // not a browser: the token decides
    if (this.config.allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  private connected(socket: Socket): void {
    const client: Client = { socket, principal: socket.data.principal as Principal, subscriptions: [], sent: new Set(), sentLate: new Set() };
    this.clients.set(socket.id, client);
    socket.on('subscribe', (message: unknown, ack?: Ack) => {
      this.subscribe(client, message)
        .then((answer) => ack?.(answer))
        .catch((error: Error) => ack?.({ ok: false, error: error.message }));
    });
    socket.on('unsubscribe', (message: unknown, ack?: Ack) => {
      const target = parseTarget(message);
      if ('error' in target) return ack?.({ ok: false, error: target.error });
      client.subscriptions = client.subscriptions.filter((s) => !(s.kind === target.kind && s.id === target.id));
      ack?.({ ok: true });
    });
    socket.on('disconnect', () => this.clients.delete(socket.id));
  }

  /** Closes the connections whose token was revoked or expired since their handshake. */
  private async recheckTokens(): Promise<void> {
    const asked = new Set([...this.clients.values()].map((c) => c.principal.tokenId));
    if (asked.size === 0) return;
    try {
      const valid = await this.tokens.stillValid([...asked]);
      for (const client of this.clients.values()) {
        const id = client.principal.tokenId;
        // Connections opened during the query were not asked about: their handshake is newer.
        // The client's reconnect then meets the handshake's refusal.
        if (!asked.has(id) || valid.has(id)) continue;
        client.socket.disconnect(true);
      }
    } catch (error) {
      this.logger.warn(`checking the tokens of open connections failed: ${(error as Error).message}`);
    }
  }

  private async subscribe(client: Client, message: unknown): Promise<Record<string, unknown>> {
    const target = parseTarget(message);
    if ('error' in target) return { ok: false, error: target.error };
    const resolved = await this.resolve(target.kind, target.id);
    // A record the token may not see answers like a missing one: the answer does not tell which exist.
    if (!resolved || (target.kind !== 'all' && !maySee(client.principal, resolved.clusterId))) {
      return { ok: false, error: `${target.kind} '${target.id}' not found` };
    }
    // Subscribing again to the same target (a page of replay, a resubscribe) replaces it.
    client.subscriptions = client.subscriptions.filter((s) => !(s.kind === target.kind && s.id === resolved.id));
    // The replay reads the table only up to what the feed has delivered, taken in the same tick
    // as the subscription joins: everything after it comes through the queue, in feed (seq)
    // order, so the two never overlap or leave a gap; a hole the replay found committed is sent
    // once (sentLate).
    const upTo = this.feed!.position;
    const subscription: Subscription = { kind: target.kind, id: resolved.id, queue: [], since: target.since ?? 0, types: target.types ?? null };
    client.subscriptions.push(subscription);
    let replayed = 0;
    let more = false;
    let lastSeq = target.since ?? null;
    if (target.since !== undefined && target.since < upTo) {
      // The scope is applied in the query, not after it: a page of another cluster's events
      // filtered away here would still cost a page and tell the client how many there were.
      const where = ['seq > $1', 'seq <= $2', '($3::text[] IS NULL OR type = ANY($3))', scopeSql('cluster_id', '$4')];
      const params: unknown[] = [target.since, upTo, subscription.types, scopeParam(client.principal)];
      if (target.kind !== 'all') {
        where.push(`${COLUMN[target.kind]} = $5`);
        params.push(resolved.id);
      }
      const rows = (await this.dataSource.query(
        `SELECT * FROM deploy_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${REPLAY_LIMIT}`,
        params,
      )) as EventRow[];
      for (const row of rows) {
        const event = toDeployEvent(row);
        if (!this.send(client, event)) continue;
        replayed++;
        if (this.feed!.isHole(event.seq)) remember(client.sentLate, event.seq, SENT_MEMORY);
      }
      more = rows.length === REPLAY_LIMIT;
      if (rows.length) lastSeq = Number(rows[rows.length - 1]!.seq);
    }
    if (more) {
      // Not live yet: the client asks for the next page (since = last_seq), and live events
      // start after the last page, so none overtakes the replay.
      client.subscriptions = client.subscriptions.filter((s) => s !== subscription);
      return { ok: true, kind: target.kind, id: resolved.id, replayed, more, last_seq: lastSeq };
    }
    const queued = subscription.queue ?? [];
    subscription.queue = null;
    for (const event of queued) this.send(client, event);
    return { ok: true, kind: target.kind, id: resolved.id, replayed, more, last_seq: lastSeq };
  }

  /** The record's id (names are accepted) and its cluster, for the visibility check. */
  private async resolve(kind: Kind, ref: string | null): Promise<{ id: string | null; clusterId: string | null } | null> {
    if (kind === 'all') return { id: null, clusterId: null };
    const byName = !isUuid(ref!);
    if (byName && kind === 'job') return null;
    const sql: Record<Exclude<Kind, 'all'>, string> = {
      job: 'SELECT id, cluster_id FROM jobs WHERE id = $1',
      deployment: `SELECT id, cluster_id FROM deployments WHERE ${byName ? 'name' : 'id'} = $1`,
      group: `SELECT id, cluster_id FROM deployment_groups WHERE ${byName ? 'name' : 'id'} = $1`,
      cluster: `SELECT id, id AS cluster_id FROM clusters WHERE ${byName ? 'name' : 'id'} = $1`,
    };
    const rows = (await this.dataSource.query(sql[kind], [ref])) as { id: string; cluster_id: string | null }[];
    return rows.length === 1 ? { id: rows[0]!.id, clusterId: rows[0]!.cluster_id } : null;
  }

  /**
   * One live event to every client that wants it, encoded once: socket.io's broadcast to the
   * recipients' own rooms serializes the packet once and writes it to each socket, where an emit
   * per socket serialized it 100 times for 100 clients.
   */
  private dispatch(event: DeployEvent, late: boolean): void {
    const recipients: string[] = [];
    for (const client of this.clients.values()) {
      let live = false;
      for (const subscription of client.subscriptions) {
        // The client has it (it came from a node whose feed was ahead); a late one it may lack.
        if (!late && event.seq <= subscription.since) continue;
        if (!matches(subscription, event, client.principal)) continue;
        if (subscription.queue) subscription.queue.push(event);
        else live = true;
      }
      if (live && this.admit(client, event)) recipients.push(client.socket.id);
    }
    if (recipients.length === 0) return;
    this.io!.to(recipients).emit('deploy_event', event);
    metrics.eventsDelivered.inc(recipients.length);
    const notification = notificationOf(event);
    if (notification) this.io!.to(recipients).emit('notification', notification);
  }

  /**
   * Every event and notification a client gets passes here: the last scope check, whatever path
   * (replay, page, live, late) brought the event, so a new path cannot leak by forgetting one.
   * True when the client is to get it (and it is then remembered as sent).
   */
  private admit(client: Client, event: DeployEvent): boolean {
    if (!maySee(client.principal, event.cluster_id)) return false;
    if (client.sentLate.delete(event.seq) || client.sent.has(event.seq)) return false;
    remember(client.sent, event.seq, SENT_MEMORY);
    return true;
  }

  /** One event to one client (replay, and live events held while its replay ran). */
  private send(client: Client, event: DeployEvent): boolean {
    if (!this.admit(client, event)) return false;
    client.socket.emit('deploy_event', event);
    metrics.eventsDelivered.inc();
    const notification = notificationOf(event);
    if (notification) client.socket.emit('notification', notification);
    return true;
  }
}

/** Adds to a set that forgets its oldest entries past `limit`. */
function remember(set: Set<number>, seq: number, limit: number): void {
  set.add(seq);
  if (set.size > limit) set.delete(set.values().next().value!);
}

function matches(subscription: Subscription, event: DeployEvent, principal: Principal): boolean {
  if (subscription.types && !subscription.types.includes(event.type)) return false;
  if (subscription.kind === 'all') return maySee(principal, event.cluster_id);
  const value = { job: event.job_id, deployment: event.deployment_id, group: event.group_id, cluster: event.cluster_id }[subscription.kind];
  return value === subscription.id;
}

/** `should_notify` books: the job's final outcome, and only that, becomes a notification. */
function notificationOf(event: DeployEvent): Record<string, unknown> | null {
  const data = (event.data ?? {}) as { should_notify?: boolean; book?: string; action?: string; deployment?: string; error?: string };
  if (event.type !== 'job' || !data.should_notify || !['done', 'error', 'cancel'].includes(event.state ?? '')) return null;
  const what = `${data.action ?? 'job'}${data.deployment ? ` on ${data.deployment}` : ''}`;
  return {
    job_id: event.job_id,
    seq: event.seq,
    state: event.state,
    title: `${what}: ${event.state}`,
    message: event.state === 'error' ? (data.error ?? 'failed') : event.state === 'done' ? `${what} finished` : `${what} was cancelled`,
    at: event.at,
  };
}

function parseTarget(message: unknown): { kind: Kind; id: string | null; since?: number; types?: string[] } | { error: string } {
  if (!message || typeof message !== 'object') return { error: 'subscribe expects an object such as { job: "<id>", since: 12 }' };
  const unsafe = unsafeInput(message, '');
  if (unsafe.length) return { error: unsafe.map((p) => p.message).join('; ') };
  const m = message as Record<string, unknown>;
  const kinds = KINDS.filter((k) => m[k] !== undefined && m[k] !== false);
  if (kinds.length !== 1) return { error: `subscribe to exactly one of ${KINDS.join(', ')}` };
  const kind = kinds[0]!;
  const id = kind === 'all' ? null : m[kind];
  if (kind !== 'all' && (typeof id !== 'string' || !id)) return { error: `${kind} must be an id or a name` };
  const since = m.since;
  if (since !== undefined && since !== null && (!Number.isInteger(Number(since)) || Number(since) < 0)) {
    return { error: 'since must be a non-negative integer seq' };
  }
  const types = m.types;
  if (types !== undefined && (!Array.isArray(types) || types.length === 0 || types.some((t) => !(EVENT_TYPES as readonly unknown[]).includes(t)))) {
    return { error: `types must be a non-empty list of ${EVENT_TYPES.join(', ')}` };
  }
  return { kind, id: id as string | null, since: since === undefined || since === null ? undefined : Number(since), types: types as string[] | undefined };
}
