// A step never runs twice at once, and a cancel lands fast, however the worker holding the job
// is cut off (issue 3, requirements 2 and 5), on real worker processes: a worker partitioned
// from PostgreSQL (its connections through a proxy that goes silent) stops its step before its
// lease can expire; a cancel reaches a worker whose heartbeat is slow through NOTIFY; a cancel
// asked of a job whose worker froze ends it `cancel` rather than running the step again.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { QuireCluster, inventory, sleep, until, type QuireProcess } from '../support/processes.js';

const BOOK = `name: l.deploy
kind: l
action: deploy
steps:
  - name: long
    kind: shell
    estimated_duration: 60
    run: "echo start >> {{deployment.vars.markers}}/{{job.id}}.long; sleep 8 && echo end >> {{deployment.vars.markers}}/{{job.id}}.long"
`;

/** A TCP proxy to PostgreSQL that can go silent in both directions, as a network partition does. */
class Partition {
  private silent = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(upstreamPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(upstreamPort, '127.0.0.1');
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.on('data', (chunk) => {
          if (!this.silent) to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => to.destroy());
      }
    });
  }

  static async start(upstreamPort: number): Promise<Partition> {
    const partition = new Partition(upstreamPort);
    await new Promise<void>((resolve) => partition.server.listen(0, '127.0.0.1', resolve));
    return partition;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.silent = true;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('engine: leases, partitions and cancel', () => {
  let cluster: QuireCluster;
  let partition: Partition;
  let workers: QuireProcess[] = [];

  beforeAll(async () => {
    cluster = await QuireCluster.start({
      books: { 'inventory.yaml': inventory('l', 4), 'l.deploy.book.yaml': BOOK },
      env: { QUIRE_LEASE_SECONDS: '6' },
    });
    await cluster.serve();
    partition = await Partition.start(Number(new URL(cluster.database.url).port || 5432));
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    workers = [];
    cluster.killStrays();
  });

  afterAll(async () => {
    await partition?.close();
    await cluster?.close();
  });

  const worker = async (name: string, env: Record<string, string> = {}) => {
    const w = await cluster.worker(name, env);
    workers.push(w);
    return w;
  };
  const stepProcesses = () => cluster.strayProcesses().filter((p) => p.args.includes('sleep 8'));

  it('a worker cut off from PostgreSQL stops its step before its lease expires; the new owner runs it alone', async () => {
    const url = new URL(cluster.database.url);
    url.port = String(partition.port);
    await worker('cut-off', { DATABASE_URL: url.toString() });
    const jobId = await cluster.trigger('d1', 'deploy');
    await until('the step to start', () => cluster.count(`${jobId}.long`) === 1 && stepProcesses().length === 1);
    await worker('healthy');

    const cutAt = Date.now();
    partition.cut();
    await until('the cut-off step to be stopped', () => stepProcesses().length === 0, 10_000, 50);
    const stoppedAfter = Date.now() - cutAt;
    // The lease was last renewed at most a heartbeat (1 s) before the cut and lasts 6 s.
    expect(stoppedAfter).toBeLessThan(6000);
    await until('the new owner to start the step', () => cluster.count(`${jobId}.long`) === 2, 25_000, 50);
    expect(Date.now() - cutAt).toBeGreaterThan(stoppedAfter);
    const job = await cluster.finished(jobId, 30_000);
    expect(job).toMatchObject({ state: 'done', locked_by: null });
    expect(cluster.lines(`${jobId}.long`)).toEqual(['start', 'start', 'end']);
    console.log(`partition: the cut-off worker stopped its step ${stoppedAfter} ms after the cut (lease 6 s)`);
  });

  it('a cancel reaches a worker with a slow heartbeat through NOTIFY, within 2 s', async () => {
    await worker('slow-beat', { QUIRE_LEASE_SECONDS: '30', QUIRE_HEARTBEAT_SECONDS: '10' });
    const jobId = await cluster.trigger('d2', 'deploy');
    await until('the step to start', () => stepProcesses().length === 1);
    const asked = Date.now();
    expect((await cluster.api('POST', `/api/jobs/${jobId}/cancel`)).status).toBeLessThan(300);
    await until('the step tree to be gone', () => stepProcesses().length === 0, 5000, 50);
    const gone = Date.now() - asked;
    expect(gone).toBeLessThan(2000);
    expect((await cluster.finished(jobId, 5000)).state).toBe('cancel');
    console.log(`cancel through NOTIFY: step gone ${gone} ms after POST /cancel (heartbeat every 10 s)`);
  });

  it('a cancel asked of a job whose worker froze ends it cancel once the lease expires, without running the step again', async () => {
    const frozen = await worker('frozen');
    const jobId = await cluster.trigger('d3', 'deploy');
    await until('the step to start', () => cluster.count(`${jobId}.long`) === 1);
    frozen.signal('SIGSTOP');
    // Its step process is in its own group: stop it too, as a frozen machine would be.
    for (const p of stepProcesses()) process.kill(-p.pgid, 'SIGSTOP');
    try {
      expect((await cluster.api('POST', `/api/jobs/${jobId}/cancel`)).status).toBeLessThan(300);
      await worker('rescuer');
      const job = await cluster.finished(jobId, 20_000);
      expect(job.state).toBe('cancel');
      const [step] = await cluster.steps(jobId);
      expect(step).toMatchObject({ state: 'cancel' });
      await sleep(1500);
      expect(cluster.count(`${jobId}.long`)).toBe(1);
    } finally {
      for (const p of stepProcesses()) process.kill(-p.pgid, 'SIGKILL');
      frozen.signal('SIGCONT');
    }
  });
});
