// Wake-ups and fan-out between nodes: NOTIFY/LISTEN on a dedicated connection that reconnects
// by itself, the one code path for production and the embedded default alike (the in-process
// bus PGlite needed is gone with it, issue 12). Pollers back it up: a lost notification delays
// work, it never loses it.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { Logger } from '@nestjs/common';

export const CHANNELS = { jobs: 'quire_jobs', events: 'quire_events', cancel: 'quire_cancel' } as const;
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

export interface PubSub {
  /**
   * Whether a `pg_notify` a transaction runs reaches every node when, and only if, it commits.
   * Then writers notify inside their transaction (no commit of its own, issue 9) and
   * `publish` after it is not needed; otherwise they publish once it committed.
   */
  readonly transactional?: boolean;
  publish(channel: Channel, payload?: string): Promise<void>;
  subscribe(channel: Channel, listener: (payload: string) => void): () => void;
  close(): Promise<void>;
}

export class PostgresPubSub implements PubSub {
  readonly transactional = true;
  private readonly logger = new Logger('PubSub');
  private readonly local = new EventEmitter().setMaxListeners(0);
  private client: pg.Client | null = null;
  private closed = false;
  private connecting: Promise<void> | null = null;
  /** the channels this node has subscribers for: LISTENed on every (re)connection */
  private readonly listening = new Set<Channel>();
  /** the LISTENs sent after connecting, in turn */
  private listens: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly pool: { query(sql: string, params: unknown[]): Promise<unknown> },
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      while (!this.closed) {
        const client = new pg.Client({ connectionString: this.url, application_name: 'quire-listen' });
        // Listeners before connect(): pg parses a ReadyForQuery and a FATAL that follows it
        // (pg_terminate_backend) from one TCP chunk synchronously, so an 'error' can be
        // emitted before code after `await client.connect()` runs; unheard, it ends the process.
        let lost = false;
        const onLost = () => {
          lost = true;
          this.reconnect(client);
        };
        client.on('notification', (msg) => this.local.emit(msg.channel, msg.payload ?? ''));
        client.on('error', onLost);
        client.on('end', onLost);
        try {
          await client.connect();
          for (const channel of this.listening) await client.query(`LISTEN ${channel}`);
          // Lost between the last LISTEN and here: nobody would reconnect it.
          if (lost) throw new Error('connection lost while subscribing');
          this.client = client;
          // Anything published while we were away is found by the pollers; nudge them now.
          for (const channel of this.listening) this.local.emit(channel, '');
          return;
        } catch (error) {
          await client.end().catch(() => undefined);
          this.logger.warn(`LISTEN connection failed (${(error as Error).message}); retrying in 1 s`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private reconnect(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    client.removeAllListeners();
    // A terminated connection can still emit 'error' (the server's FATAL after its socket
    // ended, or the other way round): without a listener that ends the process. Both worker
    // processes of the pg_terminate_backend e2e test died of exactly this in 2 runs of 4.
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    void this.connect();
  }

  async publish(channel: Channel, payload = ''): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  subscribe(channel: Channel, listener: (payload: string) => void): () => void {
    this.local.on(channel, listener);
    if (!this.listening.has(channel)) {
      // LISTEN only where someone listens: a worker that also heard every event's NOTIFY was
      // woken for nothing five times a job (issue 9). Until the LISTEN is in, the poller covers.
      this.listening.add(channel);
      const client = this.client;
      // One at a time: pg deprecates a query sent while the client still runs another.
      if (client) this.listens = this.listens.then(() => client.query(`LISTEN ${channel}`)).then(() => undefined, () => undefined);
    }
    return () => this.local.off(channel, listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    client?.removeAllListeners();
    await client?.end().catch(() => undefined);
    this.local.removeAllListeners();
  }
}
