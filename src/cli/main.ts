// The `quire` command. Each subcommand is a thin adapter over the services or the REST API.
// The server, the database and the book services are imported by the commands that use them:
// loading them all costs every command about a second, API clients included.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { loadConfig, ConfigError } from '../config/config.js';
import { ApiClient } from './api-client.js';
import { parseParamArgs } from './params.js';
import { printPlan } from './plan.printer.js';
import { closeOnSignals } from './shutdown.js';
import { scheduleLines } from './schedules.printer.js';
import type { ScheduleView } from '../scheduler/schedules.service.js';
import { processSecrets } from '../engine/secrets.js';
import { registerTokenCommands } from './tokens.command.js';

// Before anything else: secrets and credentials leave the environment (a step, running as
// this user, could read it from /proc); they live on in memory only.
const startEnv = processSecrets().env;

const program = new Command('quire').description('Deployment books compiled into jobs, run by workers, watched live.');
const collect = (value: string, previous: string[]) => [...previous, value];

/** Configuration from the environment as it was at start, credentials included. */
function config() {
  return loadConfig(startEnv);
}

/** Says when the secrets could only leave `process.env`, not the block /proc/<pid>/environ shows. */
function warnIfEnvironKept(): void {
  const { removed, environ } = processSecrets();
  if (removed.length && 'unsupported' in environ)
    console.error(`warning: ${removed.join(', ')} stay readable in /proc/${process.pid}/environ (${environ.unsupported}); see README "Security"`);
}

program
  .command('serve')
  .description('run the API, portal, gateway and a worker (QUIRE_ENGINE=off: no worker)')
  .action(async () => {
    const { startServer } = await import('../server.js');
    warnIfEnvironKept();
    const loaded = config();
    closeOnSignals(await startServer(loaded), loaded.engine.shutdownGraceSeconds);
  });

program
  .command('worker')
  .description('run only the engine: claim and run jobs from the shared database')
  .action(async () => {
    const { startWorker } = await import('../worker-node.js');
    warnIfEnvironKept();
    const loaded = config();
    closeOnSignals(await startWorker(loaded), loaded.engine.shutdownGraceSeconds);
  });

program
  .command('migrate')
  .description('apply pending migrations; --check fails when the entities and migrations disagree')
  .option('--check', 'exit 1 if the schema the entities describe differs from the migrated one')
  .action(async (options: { check?: boolean }) => {
    const { openDatabase } = await import('../db/database.js');
    const { pendingSchemaDrift } = await import('../db/data-source.js');
    const database = await openDatabase(config(), { migrate: false });
    try {
      const applied = await database.migrate();
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
      if (options.check) {
        const drift = await pendingSchemaDrift(database.dataSource);
        if (drift.length) {
          console.error(`the entities differ from the migrations; a new migration needs:\n${drift.join(';\n')}`);
          process.exitCode = 1;
        } else console.log('entities and migrations agree');
      }
    } finally {
      await database.close();
    }
  });

program
  .command('validate')
  .description('check books (files or directories); prints file:line:col: message per problem')
  .argument('<paths...>')
  .action(async (paths: string[]) => {
    const { validatePaths } = await import('../books/book-loader.js');
    const { validationContext } = await import('../books/books.service.js');
    const { formatProblem } = await import('../books/problem.js');
    const { books, inventories, problems } = await validatePaths(paths, validationContext());
    const files = new Set([...books.map((b) => b.file), ...inventories.map((i) => i.file), ...problems.map((p) => p.file)]).size;
    for (const problem of problems) console.log(formatProblem(problem));
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.length - errors;
    console.error(`${files} file(s) checked: ${errors} error(s), ${warnings} warning(s)`);
    process.exitCode = errors ? 1 : 0;
  });

program
  .command('plan')
  .description('show the job an action would create, without creating it')
  .argument('<deployment>')
  .argument('<action>')
  .option('--param <key=value>', 'an action parameter (repeatable)', collect, [])
  .option('--json', 'print the plan as JSON')
  .action(async (deployment: string, action: string, options: { param: string[]; json?: boolean }) => {
    const api = ApiClient.fromEnv(startEnv);
    const params = await typedParams(api, deployment, action, options.param);
    const { plan } = await api.request<{ plan: Parameters<typeof printPlan>[0] }>('POST', '/api/books/plan', { deployment, action, params });
    if (options.json) console.log(JSON.stringify(plan, null, 2));
    else printPlan(plan);
  });

program
  .command('run')
  .description('trigger an action on a deployment')
  .argument('<deployment>')
  .argument('<action>')
  .option('--param <key=value>', 'an action parameter (repeatable)', collect, [])
  .option('--idempotency-key <key>', 'make retries of this trigger return the same job')
  .option('--follow', 'show the job live until it ends; exit 0 only if it ends done')
  .option('--output', 'with --follow: stream the steps\' output instead of the progress display')
  .action(async (deployment: string, action: string, options: { param: string[]; idempotencyKey?: string; follow?: boolean; output?: boolean }) => {
    const api = ApiClient.fromEnv(startEnv);
    const params = await typedParams(api, deployment, action, options.param);
    const { job, created } = await api.request<{ job: { id: string; state: string }; created: boolean }>(
      'POST',
      `/api/deployments/${encodeURIComponent(deployment)}/actions/${encodeURIComponent(action)}`,
      { params },
      // Always keyed, so that the client may send the trigger again after a dropped connection.
      { 'idempotency-key': options.idempotencyKey ?? `quire-run-${randomUUID()}` },
    );
    console.log(`${created ? 'created' : 'existing'} job ${job.id} (${job.state})`);
    if (options.follow) process.exitCode = await follow(api, job.id, options.output);
  });

program
  .command('follow')
  .description('show a job live until it ends; exit 0 only if it ends done')
  .argument('<job>')
  .option('--output', 'stream the steps\' output instead of the progress display')
  .action(async (jobId: string, options: { output?: boolean }) => {
    const api = ApiClient.fromEnv(startEnv);
    process.exitCode = await follow(api, jobId, options.output);
  });

program
  .command('schedules')
  .description('list schedules with their next and last run')
  .option('--deployment <deployment>', 'only this deployment\'s (id or name)')
  .option('--book <book>', 'only this book\'s')
  .option('--json', 'print them as JSON')
  .action(async (options: { deployment?: string; book?: string; json?: boolean }) => {
    const api = ApiClient.fromEnv(startEnv);
    const query = new URLSearchParams();
    if (options.deployment) query.set('deployment', options.deployment);
    if (options.book) query.set('book', options.book);
    const { schedules } = await api.request<{ schedules: ScheduleView[] }>('GET', `/api/schedules${query.size ? `?${query}` : ''}`);
    if (options.json) console.log(JSON.stringify(schedules, null, 2));
    else for (const line of scheduleLines(schedules)) console.log(line);
  });

registerTokenCommands(program, startEnv);

/** Shows a job live until it ends; the exit code for its end. follow.ts is imported here: it loads socket.io-client, which no other command needs. */
async function follow(api: ApiClient, jobId: string, output?: boolean): Promise<number> {
  const { followJob } = await import('./follow.js');
  const state = await followJob(api, api.token, jobId, { output });
  return state === 'done' ? 0 : state === 'cancel' ? 3 : 1;
}

/** Types `--param` values by the params schema of the book the action would use. */
async function typedParams(api: ApiClient, deployment: string, action: string, pairs: string[]) {
  if (pairs.length === 0) return {};
  const { deployment: dep } = await api.request<{ deployment: { kind: string } }>('GET', `/api/deployments/${encodeURIComponent(deployment)}`);
  const { books } = await api.request<{ books: { kind: string; action: string; scope: string; params: object | null }[] }>('GET', '/api/books');
  const book = books.find((b) => b.kind === dep.kind && b.action === action && b.scope === 'deployment');
  return parseParamArgs(pairs, (book?.params ?? undefined) as Parameters<typeof parseParamArgs>[1]);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(`configuration error: ${error.message}`);
  else console.error(`quire: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
