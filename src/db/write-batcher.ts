// The engine's autocommitted writes (a step's start, a step boundary, a job's end) that arrive
// while another is in flight go out together: one message of EXECUTEs of statements prepared on
// that connection, one round trip, one commit (issue 9). On the 2-core dev VM a round trip cost
// a draining worker ~0.4 ms of CPU in its socket write alone (writev and writeBuffer: a fifth of
// its CPU, bench/profile-job.mjs), and every commit is a WAL flush taken under PostgreSQL's
// NOTIFY lock. Nothing waits to fill a batch: with nothing in flight a write goes at once, so
// an idle engine answers as fast as before; under load, batches grow by themselves.
//
// What sharing a commit changes: the writes of a batch commit together or not at all. Each is
// guarded by its own job's lease and states, so one whose lease was lost writes nothing and
// says so in its rows, without failing the others. A write that fails with an error rolls the
// batch back; each write of it then runs alone, so the error reaches the one it belongs to and
// the others commit as if they had never met it. A round trip that breaks off (the connection
// lost) fails every write of it, as it would have failed a write sent alone.
import { inlined } from './one-trip.js';
import { prepareOnce } from './prepared.js';

interface PoolClient {
  query(text: string): Promise<unknown>;
  release(error?: Error | boolean): void;
}

export interface ConnectionPool {
  connect(): Promise<PoolClient>;
}

interface Write {
  name: string;
  text: string;
  values: unknown[];
  resolve(rows: unknown[]): void;
  reject(error: unknown): void;
}

/** Batches at most this many writes: a few KB each for most steps, a few MB at worst (a step's stored output is up to 64 KB, and its last chunk rides along). */
const MAX_BATCH = 32;

export class WriteBatcher {
  private readonly queue: Write[] = [];
  private inFlight = 0;

  /** `maxInFlight`: batches sent at once; a write waits for one of them to return only when all are out. */
  constructor(
    private readonly pool: ConnectionPool,
    private readonly maxInFlight = 1,
  ) {}

  /**
   * Runs `text` (with `$n` parameters) as the prepared statement `quire_<name>`, alone or with
   * the writes waiting beside it, and answers its rows. The same name must always carry the
   * same text.
   */
  run<R>(name: string, text: string, values: unknown[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ name: `quire_${name}`, text, values, resolve: resolve as (rows: unknown[]) => void, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(batch: Write[]): Promise<void> {
    let results: unknown[][];
    try {
      results = await this.execute(batch);
    } catch (error) {
      // Only an error PostgreSQL reported (it has a code) says the batch rolled back. A round trip
      // that broke off may have committed: its writes fail as one write alone would have.
      if (batch.length === 1 || !(error as { code?: string }).code) {
        for (const write of batch) write.reject(error);
        return;
      }
      // Nothing of the batch committed: each write alone, so that only the failing one fails.
      for (const write of batch) {
        try {
          write.resolve((await this.execute([write]))[0]!);
        } catch (alone) {
          write.reject(alone);
        }
      }
      return;
    }
    batch.forEach((write, i) => write.resolve(results[i]!));
  }

  /** One round trip: the EXECUTEs of the batch in one simple query, which PostgreSQL runs as one transaction. */
  private async execute(batch: Write[]): Promise<unknown[][]> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await prepareOnce(
        client,
        batch.map((write) => `PREPARE ${write.name} AS ${write.text}`),
      );
      const text = batch
        .map((write) =>
          inlined({
            text: `EXECUTE ${write.name}${write.values.length ? `(${write.values.map((_, i) => `$${i + 1}`).join(', ')})` : ''}`,
            values: write.values,
          }),
        )
        .join(';\n');
      const results = ([] as { rows?: unknown[] }[]).concat((await client.query(text)) as never);
      return results.map((result) => result.rows ?? []);
    } catch (error) {
      // Not handed out again: a connection whose backend was terminated (57P01) still looks
      // usable for a moment, and errors here are rare enough to pay a new connection.
      broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }
}
