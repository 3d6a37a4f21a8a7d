// Shutdown ends (issue 8 item 3): SIGTERM on `quire serve` with socket.io clients connected (a
// browser's websocket, a long-polling client) and an idle keep-alive HTTP connection must end the
// process within the grace period plus a margin, cleanly (exit code 0), the running step handed
// back. Before, one idle socket.io client kept the process alive for minutes.
import { randomInt } from 'node:crypto';
import { Agent, request } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { QuireCluster, inventory, until } from '../support/processes.js';

const GRACE_SECONDS = 2;
/** Room for a slow, loaded box on top of the grace period; the hard deadline is grace + 5 s. */
const EXIT_DEADLINE_MS = (GRACE_SECONDS + 20) * 1000;
// A unique sleep length marks this run's step processes in `ps`.
const TAG = `1000.${randomInt(100000, 999999)}`;

const LONG = `name: svc.long
kind: svc
action: long
steps:
  - name: long
    kind: shell
    run: "echo started >> {{deployment.vars.markers}}/{{job.id}}.long; sleep ${TAG}"
`;

/** A GET on a keep-alive agent; the connection stays open, idle, once it answers. */
function keepAliveGet(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('engine: SIGTERM with clients connected', () => {
  let cluster: QuireCluster;
  const sockets: Socket[] = [];
  const agent = new Agent({ keepAlive: true });

  beforeAll(async () => {
    cluster = await QuireCluster.start({
      books: { 'inventory.yaml': inventory('svc', 1), 'svc.long.book.yaml': LONG },
      env: { QUIRE_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS) },
    });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    agent.destroy();
    await cluster?.close();
    cluster?.killStrays(TAG);
    expect(QuireCluster.processesMatching(TAG)).toEqual([]);
  });

  it(`exits within the grace period plus a margin, handing the running step back`, async () => {
    const serve = await cluster.serve({ engine: true });
    const jobId = await cluster.trigger('d1', 'long');
    await until('the step to start', () => cluster.count(`${jobId}.long`) === 1, 30_000);

    // As a browser (websocket, reconnecting) and as a client behind a proxy that only polls.
    for (const transports of [['websocket'], ['polling']] as const) {
      const socket = io(cluster.url, { auth: { token: cluster.token }, transports: [...transports] });
      sockets.push(socket);
      const ack = await until(`a ${transports[0]} client to subscribe`, () =>
        socket.connected ? socket.timeout(10_000).emitWithAck('subscribe', { all: true }) : null,
      );
      expect(ack).toMatchObject({ ok: true });
    }
    expect(await keepAliveGet(cluster.url, agent)).toBe(200);

    const signalled = Date.now();
    serve.signal('SIGTERM');
    const exit = await until(`quire serve to exit after SIGTERM (grace ${GRACE_SECONDS} s)`, () => serve.exitStatus, EXIT_DEADLINE_MS, 50).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${cluster.logs(30)}`);
      },
    );
    console.log(`quire serve exited ${Date.now() - signalled} ms after SIGTERM (grace ${GRACE_SECONDS} s)`);
    // A clean close, not the hard deadline's exit.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(serve.output()).not.toMatch(/shutdown deadline/);

    // The step outlived the grace period: it was stopped and handed back without using an attempt.
    const job = await cluster.job(jobId);
    expect(job.state).toBe('scheduled');
    const [step] = await cluster.steps(jobId);
    expect({ state: step!.state, interruptions: step!.interruptions }).toEqual({ state: 'pending', interruptions: 1 });
    expect(QuireCluster.processesMatching(TAG)).toEqual([]);
  }, EXIT_DEADLINE_MS + 60_000);
});
