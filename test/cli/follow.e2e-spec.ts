// `quire run <dep> <action> --follow` as a person runs it: the real command against a started
// app with a worker, its exit code and what it prints. The CLI reaches the app through a proxy
// that answers job reads late, as a loaded server does: the job's last events then arrive
// while a read is still on its way, and the command must still end with the job.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.js';
import { inventory } from '../support/processes.js';

const book = (action: string, last: string) => `name: web.${action}
kind: web
action: ${action}
unique: none
steps:
  - name: first
    kind: shell
    run: "echo first; sleep 0.6"
  - name: second
    kind: shell
    run: "echo second; sleep 0.2"
  - name: last
    kind: shell
    run: "sleep 0.3; ${last}"
`;

/**
 * Runs until `release` exists: the test releases it once the follower has everything it must show,
 * so a slow box (a CLI that takes seconds to start) cannot find the job already ended.
 */
const waitBook = (release: string) => `name: web.wait
kind: web
action: wait
unique: none
steps:
  - name: wait
    kind: shell
    run: "while [ ! -e ${release} ]; do sleep 0.1; done"
`;

/** How long one CLI run may take on a slow, loaded box; each test's jest timeout sits above it. */
const CLI_DEADLINE_MS = 60_000;
const TEST_TIMEOUT_MS = CLI_DEADLINE_MS + 30_000;

const READ_DELAY_MS = 800;

/**
 * Forwards HTTP and websocket upgrades to `target`; answers GET /api/jobs/... after READ_DELAY_MS.
 * `cut(ms)` drops the open websockets and refuses new ones for `ms`, as a network outage would.
 */
function slowReadProxy(target: URL): Promise<{ url: string; server: Server; cut(ms: number): void; close(): Promise<void> }> {
  const tunnels = new Set<{ destroy(): void }>();
  let refuseUntil = 0;
  const server = createServer((req, res) => {
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const slow = req.method === 'GET' && req.url?.startsWith('/api/jobs/');
          setTimeout(
            () => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(chunks));
            },
            slow ? READ_DELAY_MS : 0,
          );
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req, socket, head) => {
    if (Date.now() < refuseUntil) return socket.destroy();
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    tunnels.add(socket).add(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  const cut = (ms: number) => {
    refuseUntil = Date.now() + ms;
    for (const tunnel of tunnels) tunnel.destroy();
  };
  const close = () => {
    for (const tunnel of tunnels) tunnel.destroy();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, cut, close }),
    ),
  );
}

/** Runs the CLI to its end (killed after `ms`); its exit code and stdout. */
function quire(
  env: Record<string, string>,
  args: string[],
  { ms = CLI_DEADLINE_MS, onStdout = () => undefined }: { ms?: number; onStdout?: (stdout: string) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) if (process.env[key]) base[key] = process.env[key]!;
  const child = spawn(process.execPath, ['bin/quire.js', ...args], {
    env: { ...base, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    onStdout(stdout);
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('quire run --follow', () => {
  let app: TestApp;
  let booksDir: string;
  let proxy: Awaited<ReturnType<typeof slowReadProxy>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), 'quire-follow-'));
    writeFileSync(join(booksDir, 'inventory.yaml'), inventory('web', 1));
    writeFileSync(join(booksDir, 'web.deploy.book.yaml'), book('deploy', 'echo last'));
    writeFileSync(join(booksDir, 'web.broken.book.yaml'), book('broken', 'echo failing; exit 3'));
    writeFileSync(join(booksDir, 'web.wait.book.yaml'), waitBook(join(booksDir, 'release')));
    app = await startTestApp({ booksDir, engine: true, env: { QUIRE_POLL_MS: '200', QUIRE_SHUTDOWN_GRACE_SECONDS: '1' } });
    proxy = await slowReadProxy(new URL(app.url));
    env = { QUIRE_URL: proxy.url, QUIRE_TOKEN: app.token };
  });

  afterAll(async () => {
    await proxy?.close();
    await app?.close();
    rmSync(booksDir, { recursive: true, force: true });
  });

  /** The last display the command drew: from its last `job ...` line to the end. */
  const lastDisplay = (stdout: string) => stdout.slice(stdout.lastIndexOf('job '));

  it('ends with exit code 0 when the job ends done, listing each step', async () => {
    const result = await quire(env, ['run', 'd1', 'deploy', '--follow']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const display = lastDisplay(result.stdout);
    expect(display).toMatch(/^job \S+ web\.deploy on d1: done/);
    for (const step of ['first', 'second', 'last']) expect(display).toMatch(new RegExp(`✔ ${step}\\s+done`));
    expect(display).toContain('3/3 steps');
  }, TEST_TIMEOUT_MS);

  it('ends with a non-zero exit code when the job fails', async () => {
    const result = await quire(env, ['run', 'd1', 'broken', '--follow']);
    expect(result.code).toBe(1);
    const display = lastDisplay(result.stdout);
    expect(display).toMatch(/^job \S+ web\.broken on d1: error/);
    expect(display).toMatch(/✔ first\s+done/);
    expect(display).toMatch(/✔ second\s+done/);
    expect(display).toMatch(/✖ last\s+error/);
  }, TEST_TIMEOUT_MS);

  it('rides out a dropped connection: socket.io reconnects and the command still ends with the job', async () => {
    let cut = false;
    const result = await quire(env, ['run', 'd1', 'deploy', '--follow'], {
      onStdout: (stdout) => {
        // once a live event made it draw again: the socket is up
        if (cut || (stdout.match(/^job \S+ /gm) ?? []).length < 2) return;
        cut = true;
        proxy.cut(1500);
      },
    });
    expect(cut).toBe(true);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(lastDisplay(result.stdout)).toMatch(/^job \S+ web\.deploy on d1: done/);
  }, TEST_TIMEOUT_MS);

  it('follow --output pages through a replay longer than one page (the ack says `more`)', async () => {
    const { job } = (await app.api('POST', '/api/deployments/d1/actions/wait', {})).body;
    const db = new pg.Client({ connectionString: app.database!.url });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO deploy_events (type, job_id, deployment_id, group_id, cluster_id, payload)
         SELECT 'output', id, deployment_id, group_id, cluster_id, jsonb_build_object('step_name', 'wait', 'data', jsonb_build_object('chunk', 'c' || i || E'\\n'))
         FROM jobs, generate_series(1, 20500) i WHERE id = $1`,
        [job.id],
      );
    } finally {
      await db.end();
    }
    // The job ends once the follower has printed the replay's last line.
    const result = await quire({ QUIRE_URL: app.url, QUIRE_TOKEN: app.token }, ['follow', job.id, '--output'], {
      onStdout: (stdout) => stdout.includes('\nc20500\n') && writeFileSync(join(booksDir, 'release'), ''),
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout.split('\n').filter((line) => /^c\d+$/.test(line))).toHaveLength(20500);
    expect(result.stdout).toMatch(/web\.wait on d1: done/);
  }, TEST_TIMEOUT_MS);
});
