// Real engine processes for end-to-end tests: `node bin/quire.js serve|worker` on a test
// database, with a books directory and a marker directory the test writes. Every process is
// spawned detached (its own process group) and killed by `close()`; so are the step processes
// they leave behind (a worker killed with SIGKILL cannot stop its steps), found by the cluster's
// temp path in their command line. Nothing may outlive a test file (STYLE.md habit 9).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { fetchRetryingWhenSafe } from '../../src/cli/http-retry.js';
import { createTestDatabase, type TestDatabase } from './database.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/quire.js');
/** Captured output kept per process: the end of it, where failures show. */
const OUTPUT_LIMIT = 2 * 1024 * 1024;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy; fails naming `what` after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  ms = 30_000,
  every = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(every);
  }
}

/** Every live process group leader we started, killed if the test process exits without cleaning up. */
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export class QuireProcess {
  private buffer = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly name: string,
    readonly role: 'serve' | 'worker',
    readonly child: ChildProcess,
  ) {
    const append = (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      if (this.buffer.length > OUTPUT_LIMIT) this.buffer = this.buffer.slice(-OUTPUT_LIMIT / 2);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    live.add(this.pid);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(this.pid);
        this.exitStatus = { code, signal };
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitStatus === null;
  }

  /** stdout and stderr interleaved, colour codes removed */
  output(): string {
    // eslint-disable-next-line no-control-regex
    return this.buffer.replace(/\x1b\[[0-9;]*m/g, '');
  }

  async waitForOutput(pattern: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
    return until(
      `${this.name} to print ${pattern}`,
      () => {
        if (!this.alive) throw new Error(`${this.name} exited (${JSON.stringify(this.exitStatus)}):\n${this.output().slice(-4000)}`);
        return this.output().match(pattern);
      },
      ms,
      50,
    );
  }

  /** Signals the process itself (SIGSTOP, SIGCONT, SIGTERM: what an operator or the kernel sends). */
  signal(sig: NodeJS.Signals): void {
    if (this.alive) process.kill(this.pid, sig);
  }

  /** SIGKILL to its whole process group; resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}

export interface ClusterOptions {
  /** file name → content, written into the books directory; `{{root}}` and `{{markers}}` are replaced */
  books: Record<string, string>;
  /** environment for every process (on top of the fast test defaults) */
  env?: Record<string, string>;
}

export interface JobRow {
  id: string;
  state: string;
  deployment_id: string | null;
  lease_token: string | null;
  locked_by: string | null;
  error: string | null;
  date_created: Date;
  date_running: Date | null;
  date_done: Date | null;
  cancel_requested: boolean;
}

export interface StepRow {
  id: string;
  name: string;
  position: number;
  state: string;
  attempt: number;
  interruptions: number;
  output: string;
  outputs: Record<string, unknown>;
  error: string | null;
  errors: { at: string; attempt: number; message: string; exit_code?: number }[];
  date_started: Date | null;
  date_finished: Date | null;
}

export interface EventRow {
  seq: string;
  type: string;
  job_id: string;
  step_id: string | null;
  payload: { state?: string; step_name?: string; progress?: { done_steps: number; total_steps: number; eta_s: number }; data?: Record<string, unknown> };
}

/** A job's state as a client following its events knows it, or as its rows hold it. */
export interface JobAsTold {
  job: string | null;
  steps: Record<string, string>;
  done_steps: number | null;
  /** job and step events without `progress` */
  without_progress: string[];
}

/** One test database, one temp tree (books, data, markers) and the processes running on them. */
export class QuireCluster {
  readonly processes: QuireProcess[] = [];
  private api_: { url: string; token: string } | null = null;

  private constructor(
    readonly database: TestDatabase,
    readonly db: pg.Pool,
    /** the temp root: every step command of the test's books mentions it (through `markers`) */
    readonly root: string,
    readonly booksDir: string,
    readonly dataDir: string,
    /** where steps write marker files; given to books as `{{markers}}` */
    readonly markers: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(options: ClusterOptions): Promise<QuireCluster> {
    const root = mkdtempSync(join(tmpdir(), 'quire-e2e-'));
    const booksDir = join(root, 'books');
    const dataDir = join(root, 'data');
    const markers = join(root, 'markers');
    for (const dir of [booksDir, dataDir, markers]) mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(options.books)) {
      writeFileSync(join(booksDir, file), text.replaceAll('{{root}}', root).replaceAll('{{markers}}', markers));
    }
    const database = await createTestDatabase();
    const db = new pg.Pool({ connectionString: database.url, max: 4, application_name: 'quire-test-probe' });
    db.on('error', () => undefined); // an idle connection ended by a test's pg_terminate_backend
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      QUIRE_BOOKS_DIR: booksDir,
      QUIRE_DATA_DIR: dataDir,
      QUIRE_LEASE_SECONDS: '3',
      QUIRE_HEARTBEAT_SECONDS: '1',
      QUIRE_POLL_MS: '200',
      QUIRE_LOG_LEVEL: 'log',
      QUIRE_SHUTDOWN_GRACE_SECONDS: '2',
      ...options.env,
    };
    return new QuireCluster(database, db, root, booksDir, dataDir, markers, env);
  }

  private spawn(role: 'serve' | 'worker', name: string, env: Record<string, string>): QuireProcess {
    // A clean environment: not the test runner's NODE_OPTIONS (jest's VM modules) or anything else.
    const base: Record<string, string> = {};
    for (const key of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'USER']) if (process.env[key]) base[key] = process.env[key]!;
    const child = spawn(process.execPath, [BIN, role], {
      cwd: ROOT,
      env: { ...base, NO_COLOR: '1', QUIRE_WORKER_ID: name, ...this.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new QuireProcess(name, role, child);
    this.processes.push(proc);
    return proc;
  }

  /**
   * `quire serve` on a free port. By default with QUIRE_ENGINE=off: the API alone, so that
   * tests decide which worker processes run jobs.
   */
  async serve(options: { engine?: boolean; env?: Record<string, string>; name?: string } = {}): Promise<QuireProcess> {
    const proc = this.spawn('serve', options.name ?? 'api', { PORT: '0', QUIRE_ENGINE: options.engine ? 'on' : 'off', ...options.env });
    const [, url] = await proc.waitForOutput(/listening on (http:\/\/[^\s"]+)/);
    const tokenFile = join(this.dataDir, 'admin-token');
    await until('the admin token file', () => existsSync(tokenFile));
    this.api_ ??= { url: url!, token: readFileSync(tokenFile, 'utf8').trim() };
    return proc;
  }

  /** `quire worker`; resolves once its claim loop runs. */
  async worker(name: string, env: Record<string, string> = {}): Promise<QuireProcess> {
    const proc = this.spawn('worker', name, env);
    await proc.waitForOutput(/worker \S+ started/);
    return proc;
  }

  get url(): string {
    if (!this.api_) throw new Error('no serve process started');
    return this.api_.url;
  }

  /** the admin token, for clients other than `api()` (socket.io) */
  get token(): string {
    if (!this.api_) throw new Error('no serve process started');
    return this.api_.token;
  }

  async api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    if (!this.api_) throw new Error('no serve process started');
    // Sent again after a dropped connection only when that is safe (a read, a keyed trigger).
    const response = await fetchRetryingWhenSafe(this.api_.url + path, {
      method,
      headers: { authorization: `Bearer ${this.api_.token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as T) : (undefined as T) };
  }

  /** Triggers an action, under a fresh Idempotency-Key; returns the job id (fails the test on anything but 200/202). */
  async trigger(deployment: string, action: string, params: Record<string, unknown> = {}): Promise<string> {
    const { status, body } = await this.api(
      'POST',
      `/api/deployments/${encodeURIComponent(deployment)}/actions/${encodeURIComponent(action)}`,
      { params },
      { 'idempotency-key': `test-${randomUUID()}` },
    );
    if (status !== 202 && status !== 200) throw new Error(`trigger ${deployment} ${action}: ${status} ${JSON.stringify(body)}`);
    return (body as { job: { id: string } }).job.id;
  }

  async job(id: string): Promise<JobRow> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    if (!rows[0]) throw new Error(`no job ${id}`);
    return rows[0];
  }

  async steps(jobId: string): Promise<StepRow[]> {
    return (await this.db.query<StepRow>('SELECT * FROM job_steps WHERE job_id = $1 ORDER BY position', [jobId])).rows;
  }

  async step(jobId: string, name: string): Promise<StepRow> {
    const step = (await this.steps(jobId)).find((s) => s.name === name);
    if (!step) throw new Error(`job ${jobId} has no step ${name}`);
    return step;
  }

  async events(jobId: string): Promise<EventRow[]> {
    return (await this.db.query<EventRow>('SELECT * FROM deploy_events WHERE job_id = $1 ORDER BY seq', [jobId])).rows;
  }

  /**
   * What the job's events tell, beside what its rows hold: every state change must have its
   * event, so the two agree (steps start `pending`, an event is needed only when they move).
   */
  async told(jobId: string): Promise<{ told: JobAsTold; stored: JobAsTold }> {
    const [events, job, steps] = [await this.events(jobId), await this.job(jobId), await this.steps(jobId)];
    const told: JobAsTold = { job: null, steps: Object.fromEntries(steps.map((s) => [s.name, 'pending'])), done_steps: null, without_progress: [] };
    for (const { type, seq, payload } of events) {
      if (type !== 'job' && type !== 'step') continue;
      if (type === 'job') told.job = payload.state ?? null;
      else told.steps[payload.step_name!] = payload.state!;
      if (payload.progress) told.done_steps = payload.progress.done_steps;
      else told.without_progress.push(`${seq} ${type}:${payload.step_name ?? ''}:${payload.state}`);
    }
    const final = ['done', 'error', 'skipped', 'cancel'];
    const stored: JobAsTold = {
      job: job.state,
      steps: Object.fromEntries(steps.map((s) => [s.name, s.state])),
      done_steps: steps.filter((s) => final.includes(s.state)).length,
      without_progress: [],
    };
    return { told, stored };
  }

  /** Waits until the job is done, error or cancel; returns its row. */
  async finished(jobId: string, ms = 30_000): Promise<JobRow> {
    try {
      return await until(
        `job ${jobId} to end`,
        async () => {
          const job = await this.job(jobId);
          return ['done', 'error', 'cancel'].includes(job.state) ? job : null;
        },
        ms,
      );
    } catch (error) {
      // Say where it stands: the first thing to know when a job is stuck.
      const job = await this.job(jobId).catch(() => null);
      const steps = await this.steps(jobId).catch(() => []);
      const summary = steps.map((s) => `${s.name}:${s.state}:attempt ${s.attempt}:interruptions ${s.interruptions}`).join(', ');
      throw new Error(
        `${(error as Error).message}\njob: ${JSON.stringify({ ...job, context: undefined, params: undefined })}\nsteps: ${summary}\n${this.logs(30)}`,
        { cause: error },
      );
    }
  }

  /** Lines in a marker file (0 when it does not exist). */
  count(file: string): number {
    return this.lines(file).length;
  }

  /** The lines steps wrote to a marker file, in order. */
  lines(file: string): string[] {
    const path = join(this.markers, file);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  }

  /** Processes (other than ours) whose command line contains `text`: pid, process group, args. */
  static processesMatching(text: string): { pid: number; pgid: number; args: string }[] {
    const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => !!m && m[3]!.includes(text) && !m[3]!.startsWith('ps '))
      .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[3]! }));
  }

  /** Step processes still running from this cluster's books. */
  strayProcesses(): { pid: number; pgid: number; args: string }[] {
    return QuireCluster.processesMatching(this.root);
  }

  /** Kills step processes left behind, by process group when they lead one (a step's `sh`). */
  killStrays(text = this.root): void {
    const own = new Set(this.processes.map((p) => p.pid));
    for (const { pid, pgid } of QuireCluster.processesMatching(text)) {
      if (pid === process.pid || own.has(pid)) continue;
      try {
        process.kill(pgid === pid ? -pid : pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
  }

  /** Kills every process, then every step process left, drops the database, removes the temp tree. */
  async close(): Promise<void> {
    await this.stopAll();
    this.killStrays();
    await this.db.end().catch(() => undefined);
    await this.database.drop();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The last lines of every process's output: for failure messages. */
  logs(lines = 40): string {
    return this.processes
      .map((p) => `--- ${p.name} (${p.role}, pid ${p.pid}) ---\n${p.output().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }
}

/** The inventory most tests use: `count` deployments `d1`.. of kind `kind`, each with `markers`. */
export function inventory(kind: string, count: number, extraVars: Record<string, string> = {}): string {
  const vars = JSON.stringify({ markers: '{{markers}}', ...extraVars });
  const deployments = Array.from({ length: count }, (_, i) => `          - { name: d${i + 1}, kind: ${kind}, vars: ${vars} }`).join('\n');
  return `clusters:\n  - name: c1\n    groups:\n      - name: g1\n        deployments:\n${deployments}\n`;
}
