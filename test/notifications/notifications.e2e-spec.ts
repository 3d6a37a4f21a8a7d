// Notifications (BOOKS.md section 9; issue 7 "Prove it") on real processes: a failing job sends
// one signed webhook, retried with the same delivery id after a 500, and one email that a real
// SMTP server receives; a step that fails and is retried before the job succeeds owes nothing;
// a resumed job that fails again notifies again; and a node killed -9 after the job ended but
// before the delivery leaves it to another process, which sends it once.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { QuireCluster, inventory, until, type QuireProcess } from '../support/processes.js';

const SECRET = 'hook-s3cret-value-7f3a';
const PUBLIC_URL = 'https://quire.example.test';
const m = (name: string) => `{{deployment.vars.markers}}/{{deployment.name}}.${name}`;

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

/** An HTTP receiver that records every request; `fail` decides which get a 500. */
function receiver(fail: (request: Received, index: number) => boolean) {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: 200 };
      request.status = fail(request, requests.length) ? 500 : 200;
      requests.push(request);
      res.writeHead(request.status).end();
    });
  });
  return { server, requests };
}

const listen = (server: Server, port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
const closeServer = (server: { close(cb: () => void): unknown }) => new Promise<void>((r) => server.close(() => r()));

/** A port nothing listens on (yet): the kill test's receiver comes up there later. */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await closeServer(probe);
  return port;
}

describe('notifications', () => {
  let cluster: QuireCluster;
  let api: QuireProcess;
  let worker: QuireProcess;
  const hooks = receiver((_, index) => index === 0);
  const late = receiver(() => false);
  let latePort: number;
  const mails: ParsedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch(callback);
    },
  });

  beforeAll(async () => {
    const hookPort = await listen(hooks.server);
    const smtpPort = await listen(smtp.server as unknown as Server);
    latePort = await freePort();
    const hook = `http://127.0.0.1:${hookPort}/hook`;
    cluster = await QuireCluster.start({
      books: {
        'inventory.yaml': inventory('n', 4),
        'n.fail.book.yaml': `name: n.fail
kind: n
action: fail
steps:
  - name: prepare
    kind: shell
    run: "echo prepared"
  - name: boom
    kind: shell
    run: "echo line one; echo the last words; echo disk full >&2; exit 3"
notify:
  - webhook: ${hook}
    secret: hook_key
  - email: [ops@example.test, oncall@example.test]
`,
        'n.flaky.book.yaml': `name: n.flaky
kind: n
action: flaky
steps:
  - name: flaky
    kind: shell
    retry: { max_attempts: 2, delay: 1s, backoff: fixed, retry_on_exit_codes: [75] }
    run: "echo x >> ${m('flaky')}; test $(wc -l < ${m('flaky')}) -ge 2 || exit 75"
notify:
  - webhook: ${hook}
    secret: hook_key
  - email: ops@example.test
`,
        'n.crash.book.yaml': `name: n.crash
kind: n
action: crash
steps:
  - name: slow
    kind: shell
    run: "sleep 2; exit 1"
notify:
  - webhook: http://127.0.0.1:${latePort}/late
    on: [error]
`,
      },
      env: {
        QUIRE_SECRET_HOOK_KEY: SECRET,
        QUIRE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        QUIRE_MAIL_FROM: 'quire@example.test',
        QUIRE_PUBLIC_URL: PUBLIC_URL,
      },
    });
    api = await cluster.serve();
    worker = await cluster.worker('n-worker');
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
    await closeServer(hooks.server);
    await closeServer(late.server);
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  const deliveries = async (jobId: string) =>
    (
      await cluster.db.query<{ id: string; channel: string; state: string; attempts: number; last_error: string | null; locked_by: string | null }>(
        `SELECT id, channel, state, attempts, last_error, locked_by FROM notification_deliveries WHERE job_id = $1 ORDER BY job_ended_at, entry_index`,
        [jobId],
      )
    ).rows;
  const allSent = (jobId: string, count: number) =>
    until(`${count} deliveries of job ${jobId} sent`, async () => {
      const rows = await deliveries(jobId);
      return rows.length === count && rows.every((r) => r.state === 'sent') ? rows : null;
    }, 60_000);

  it('a failing job: one signed webhook, retried with the same delivery id after a 500, and one email', async () => {
    const jobId = await cluster.trigger('d1', 'fail');
    expect((await cluster.finished(jobId)).state).toBe('error');
    const rows = await allSent(jobId, 2);
    const webhook = rows.find((r) => r.channel === 'webhook')!;

    const mine = hooks.requests.filter((r) => JSON.parse(r.body).job_id === jobId);
    expect(mine.map((r) => r.status)).toEqual([500, 200]);
    expect(mine.map((r) => r.headers['x-quire-delivery'])).toEqual([webhook.id, webhook.id]);
    for (const request of mine) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(request.body).digest('hex')}`;
      expect(request.headers['x-quire-signature']).toBe(expected);
      expect(request.headers['content-type']).toBe('application/json');
    }
    expect(mine[1]!.body).toBe(mine[0]!.body);
    expect(JSON.parse(mine[0]!.body)).toEqual({
      job_id: jobId,
      state: 'error',
      title: 'fail on d1 failed',
      message: expect.stringContaining("failed at step 'boom'"),
      book: 'n.fail',
      action: 'fail',
      deployment: 'd1',
      group: 'g1',
      cluster: 'c1',
      error: expect.stringContaining('boom'),
      failed_step: 'boom',
      url: `${PUBLIC_URL}/#/jobs/${jobId}`,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const mail = await until('the email', () => mails.find((m) => m.subject === '[quire] fail on d1 failed'));
    expect(mail.subject).toBe('[quire] fail on d1 failed');
    expect(mail.from?.text).toContain('quire@example.test');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('ops@example.test, oncall@example.test');
    expect(mail.text).toContain('Failing step: boom');
    expect(mail.text).toContain('the last words');
    expect(mail.text).toContain(`${PUBLIC_URL}/#/jobs/${jobId}`);

    // The job shows what it owed and how each delivery went.
    const { body } = await cluster.api('GET', `/api/jobs/${jobId}`);
    expect(body.job.notifications).toEqual([
      { channel: 'webhook', on: 'error', state: 'sent', attempts: 2, last_error: 'receiver answered 500', date_sent: expect.any(String) },
      { channel: 'email', on: 'error', state: 'sent', attempts: 1, last_error: null, date_sent: expect.any(String) },
    ]);
    // Sent means sent once: nothing is left for any node to send again.
    expect(hooks.requests.filter((r) => JSON.parse(r.body).job_id === jobId)).toHaveLength(2);
    expect(mails.filter((m) => m.subject === '[quire] fail on d1 failed')).toHaveLength(1);
  }, 90_000);

  it('a step that fails, is retried and succeeds: the job owes nothing', async () => {
    const jobId = await cluster.trigger('d2', 'flaky');
    const job = await cluster.finished(jobId);
    expect(job.state).toBe('done');
    expect((await cluster.step(jobId, 'flaky')).attempt).toBe(2);
    // Owed in the commit that ended the job: none there means none ever.
    expect(await deliveries(jobId)).toEqual([]);
    expect((await cluster.api('GET', `/api/jobs/${jobId}`)).body.job.notifications).toEqual([]);
    expect(hooks.requests.filter((r) => JSON.parse(r.body).job_id === jobId)).toEqual([]);
  }, 60_000);

  it('a resumed job that fails again notifies again, under a new delivery id', async () => {
    const jobId = await cluster.trigger('d3', 'fail');
    await cluster.finished(jobId);
    const first = await allSent(jobId, 2);
    expect((await cluster.api('POST', `/api/jobs/${jobId}/resume`)).status).toBeLessThan(300);
    await until('the resumed job to fail again', async () => (await cluster.job(jobId)).state === 'error' && (await deliveries(jobId)).length === 4);
    const all = await allSent(jobId, 4);
    const ids = hooks.requests.filter((r) => JSON.parse(r.body).job_id === jobId).map((r) => r.headers['x-quire-delivery']);
    expect(ids).toEqual([first.find((r) => r.channel === 'webhook')!.id, all.filter((r) => r.channel === 'webhook')[1]!.id]);
    expect(new Set(ids).size).toBe(2);
  }, 90_000);

  it('kill -9 of the node between the job end and the delivery: another process sends it, once', async () => {
    // Only worker A may run the job and make the first attempt: the other sender nodes go.
    await worker.kill();
    const a = await cluster.worker('n-worker-a');
    const jobId = await cluster.trigger('d4', 'crash');
    await api.kill();
    // The job ends on A; A's attempt finds nobody listening and is recorded; then A dies.
    await until('A to end the job and try once', async () => {
      const [row] = await deliveries(jobId);
      return row && row.attempts >= 1 && row.last_error ? row : null;
    }, 60_000);
    expect((await cluster.job(jobId)).state).toBe('error');
    await a.kill();
    const [owed] = await deliveries(jobId);
    expect(owed).toMatchObject({ state: 'pending', locked_by: 'n-worker-a' });

    await listen(late.server, latePort);
    await cluster.worker('n-worker-b');
    const [sent] = await allSent(jobId, 1);
    expect(sent!.locked_by).toBe('n-worker-b');
    expect(late.requests.map((r) => r.headers['x-quire-delivery'])).toEqual([owed!.id]);
    expect(JSON.parse(late.requests[0]!.body)).toMatchObject({ job_id: jobId, state: 'error', failed_step: 'slow' });

    // The signing secret never reached a log line.
    for (const proc of cluster.processes) expect(proc.output()).not.toContain(SECRET);
  }, 120_000);
});
