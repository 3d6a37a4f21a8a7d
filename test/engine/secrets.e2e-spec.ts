// Secrets never stored (BOOKS.md sections 4 and 5): a real worker runs steps that print a
// secret, put it in an `::output` line and a failure message, and get it back in an HTTP JSON
// body; afterwards no row of any table, no socket.io event and no log line holds the value,
// and the masker's mark stands where it was.
import { io, type Socket } from 'socket.io-client';
import { MASK } from '../../src/steps/output/secret-masker.js';
import { startServer, type TestServer } from '../../src/steps/testing/http-server.fixture.js';
import { QuireCluster, inventory, until } from '../support/processes.js';

// Letters, digits and '-' only, so JSON text holds it as written.
const SECRET = 'hunter2-e2e-9f31c7';

const book = (serverUrl: string) => `name: svc.leak
kind: svc
action: leak
should_notify: true
steps:
  - name: say
    kind: shell
    secrets: [api_key]
    # the secret in stdout, in an ::output line, and cut in two across output ticks
    run: >-
      echo "token is $API_KEY";
      echo "::output key=$API_KEY";
      echo "::output line=Bearer $API_KEY";
      printf 'split:%s' "\${API_KEY%????}"; sleep 0.5; echo "\${API_KEY#"\${API_KEY%????}"}"
  - name: fetch
    kind: http
    secrets: [api_key]
    url: "${serverUrl}/token"
    headers: { Authorization: "Bearer {{secrets.api_key}}" }
  - name: reuse
    kind: shell
    run: "echo got {{steps.say.output.key}}"
  - name: fail
    kind: shell
    secrets: [api_key]
    run: "echo \\"failing with $API_KEY\\" >&2; exit 3"
`;

describe('engine: secrets are never stored, sent or logged', () => {
  let server: TestServer;
  let cluster: QuireCluster;
  let socket: Socket;
  const events: { name: string; payload: unknown }[] = [];

  beforeAll(async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: SECRET, nested: { list: [`Bearer ${SECRET}`], [SECRET]: true } }));
    });
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 1), 'svc.leak.book.yaml': book(server.url) } });
    await cluster.serve();
    await cluster.worker('secrets', { QUIRE_SECRET_API_KEY: SECRET });
    socket = io(cluster.url, { auth: { token: cluster.token }, transports: ['websocket'], reconnection: false });
    socket.onAny((name: string, payload: unknown) => events.push({ name, payload }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const ack = await new Promise<{ ok: boolean }>((resolve) => socket.emit('subscribe', { all: true }, resolve));
    expect(ack).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    socket?.close();
    await cluster?.close();
    await server?.close();
  });

  it('masks the secret everywhere the job left a trace', async () => {
    const jobId = await cluster.trigger('d1', 'leak');
    const job = await cluster.finished(jobId, 30_000);
    await until('the job-end event over socket.io', () => events.some((e) => isJobEnd(e.payload, jobId)), 10_000);

    // The steps really had the secret: it reached the server and the shell.
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${SECRET}`]);
    const steps = await cluster.steps(jobId);
    const say = steps.find((s) => s.name === 'say')!;
    expect(say.outputs).toEqual({ key: MASK, line: `Bearer ${MASK}` });
    expect(say.output).toContain(`token is ${MASK}`);
    expect(say.output).toContain(`split:${MASK}`);
    expect(steps.find((s) => s.name === 'fetch')!.outputs).toEqual({
      status: 200,
      body: { token: MASK, nested: { list: [`Bearer ${MASK}`], [MASK]: true } },
    });
    expect(steps.find((s) => s.name === 'reuse')!.output).toBe(`got ${MASK}\n`);
    expect(job.state).toBe('error');
    expect(job.error).toBe(`step fail failed: exit code 3: failing with ${MASK}`);

    // No table holds the value; the three the job writes hold the mark.
    const tables = (
      await cluster.db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`)
    ).rows.map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['jobs', 'job_steps', 'deploy_events']));
    const dumps: Record<string, string> = {};
    for (const table of tables) {
      dumps[table] =
        (await cluster.db.query<{ dump: string | null }>(`SELECT json_agg(t)::text AS dump FROM "${table}" t`)).rows[0]!.dump ?? '';
    }
    for (const [table, dump] of Object.entries(dumps)) expect({ table, leaked: dump.includes(SECRET) }).toEqual({ table, leaked: false });
    for (const table of ['jobs', 'job_steps', 'deploy_events']) expect(dumps[table]).toContain(MASK);

    // Nor any event a client received, nor any process's log.
    const sent = JSON.stringify(events);
    expect(sent).not.toContain(SECRET);
    expect(sent).toContain(MASK);
    for (const proc of cluster.processes)
      expect({ proc: proc.name, leaked: proc.output().includes(SECRET) }).toEqual({ proc: proc.name, leaked: false });
  });
});

function isJobEnd(payload: unknown, jobId: string): boolean {
  const event = payload as { type?: string; job_id?: string; state?: string } | undefined;
  return event?.type === 'job' && event.job_id === jobId && event.state === 'error';
}
