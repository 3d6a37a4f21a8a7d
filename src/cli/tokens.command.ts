// `quire token create|list|revoke`. With a server running it goes through the API, with the
// caller's token and authority (and without opening the database, which an embedded-database
// server holds); with none (first setup, recovery) it writes the database directly, as the
// machine's owner may. QUIRE_URL names a server explicitly: then there is no fallback.
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import type { NewToken, TokenView } from '../auth/tokens.service.js';
import type { Role } from '../auth/api-token.entity.js';
import { parseDuration } from '../books/duration.js';
import { ApiClient, ApiUnreachable, apiUrlFromEnv } from './api-client.js';
import { tableLines } from './table.js';

interface Backend {
  /** how the work was done, for the closing message */
  via: string;
  mint(input: NewToken): Promise<{ token: TokenView; secret: string }>;
  list(): Promise<TokenView[]>;
  revoke(id: string): Promise<TokenView>;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** `env` is the environment as it was at start: the credentials have left process.env since. */
export function registerTokenCommands(program: Command, env: Env = process.env): void {
  const token = program.command('token').description('manage API tokens (through the API when a server runs, else in the database)');
  token
    .command('create')
    .description('create a token; its secret is printed once on stdout, only its hash is stored')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--name <name>', 'who or what uses it', 'cli')
    .option('--cluster <cluster...>', 'limit the token to these clusters (names or ids)')
    .option('--expires <when>', 'an ISO 8601 date-time, or a duration from now (30d, 12h)')
    .action(async (options: { role: Role; name: string; cluster?: string[]; expires?: string }) => {
      const input: NewToken = { name: options.name, role: options.role };
      if (options.cluster) input.clusters = options.cluster;
      if (options.expires) input.expires_at = expiryOf(options.expires);
      await withBackend(env, async (backend) => {
        const { token: view, secret } = await backend.mint(input);
        console.log(secret);
        const scope = view.clusters ? ` for ${view.clusters.map((c) => c.name).join(', ')}` : '';
        const expires = view.expires_at ? `, expires ${view.expires_at}` : '';
        console.error(`created ${view.role} token '${view.name}' (${view.prefix}…)${scope}${expires} (${backend.via})`);
      });
    });
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'print them as JSON')
    .action(async (options: { json?: boolean }) => {
      await withBackend(env, async (backend) => {
        const tokens = await backend.list();
        if (options.json) console.log(JSON.stringify(tokens, null, 2));
        else for (const line of tokenLines(tokens)) console.log(line);
      });
    });
  token
    .command('revoke')
    .description('revoke a token by id; its open connections close within QUIRE_TOKEN_RECHECK_SECONDS')
    .argument('<id>')
    .action(async (id: string) => {
      await withBackend(env, async (backend) => {
        const view = await backend.revoke(id);
        console.error(`revoked token '${view.name}' (${view.prefix}…) (${backend.via})`);
      });
    });
}

/** An absolute expiry from `--expires`: a date-time as given, or now plus a duration. */
function expiryOf(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return value;
  let seconds: number;
  try {
    seconds = parseDuration(value);
  } catch {
    throw new Error(`--expires: '${value}' is neither a date-time (2027-01-31T00:00:00Z) nor a duration (30d, 12h)`);
  }
  return new Date(Date.now() + seconds * 1000).toISOString();
}

async function withBackend(env: Env, work: (backend: Backend) => Promise<void>): Promise<void> {
  const backend = await chooseBackend(env);
  try {
    await work(backend);
  } finally {
    await backend.close();
  }
}

async function chooseBackend(env: Env): Promise<Backend> {
  const url = apiUrlFromEnv(env);
  if (!env.QUIRE_URL && !(await answers(url))) return databaseBackend(env);
  // A server runs (or was named): only the API, so the caller's own authority applies.
  const api = ApiClient.fromEnv(env);
  return {
    via: `through the API at ${url}`,
    mint: (input) => api.request('POST', '/api/tokens', input),
    list: async () => (await api.request<{ tokens: TokenView[] }>('GET', '/api/tokens')).tokens,
    revoke: async (id) => {
      const [view] = (await api.request<{ tokens: TokenView[] }>('GET', '/api/tokens')).tokens.filter((t) => t.id === id);
      await api.request('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
      return view ?? ({ id, name: id, prefix: '' } as TokenView);
    },
    close: async () => undefined,
  };
}

/** Whether a Quire server answers at `url` (its /health needs no token). */
async function answers(url: string): Promise<boolean> {
  try {
    await new ApiClient(url, '').call('GET', '/health');
    return true;
  } catch (error) {
    if (error instanceof ApiUnreachable) return false;
    throw error;
  }
}

async function databaseBackend(env: Env): Promise<Backend> {
  // Loaded only here: the API path needs neither TypeORM nor a database driver.
  const { openDatabase } = await import('../db/database.js');
  const { TokensService } = await import('../auth/tokens.service.js');
  const database = await openDatabase(loadConfig(env));
  const tokens = new TokensService(database.dataSource);
  return {
    via: 'in the database: no server answered',
    mint: (input) => tokens.mint(input),
    list: () => tokens.list(),
    revoke: (id) => tokens.revoke(id),
    close: () => database.close(),
  };
}

export function tokenLines(tokens: TokenView[], now = new Date()): string[] {
  if (tokens.length === 0) return ['no tokens'];
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.role,
    t.clusters ? t.clusters.map((c) => c.name).join(',') || '(none left)' : 'all',
    t.expires_at ?? 'never',
    t.revoked_at ? 'revoked' : t.expires_at && new Date(t.expires_at) <= now ? 'expired' : 'active',
    t.prefix + '…',
  ]);
  return tableLines(['ID', 'NAME', 'ROLE', 'CLUSTERS', 'EXPIRES', 'STATE', 'PREFIX'], rows);
}
