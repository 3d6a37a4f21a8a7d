// Configuration comes from environment variables only, read and validated once at start.
// A bad value stops the process with a message naming the variable (DESIGN.md "Running it").
import { resolve } from 'node:path';

export interface QuireConfig {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  booksDir: string;
  channels: Record<string, number>;
  learnMinSamples: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug';
  allowedOrigins: string[];
  workerId: string;
  engine: EngineConfig;
  eventRetentionDays: number;
  /** how often open sockets' tokens are checked again (a revoked token's socket is closed) */
  tokenRecheckSeconds: number;
  /** validations and plans one token may ask for a minute (429 past it) */
  rateLimitPerMinute: number;
  schedules: ScheduleConfig;
  http: HttpConfig;
  notifications: NotificationConfig;
  /** `text` (Nest's console format) or `json` (one JSON object a line, through pino) */
  logFormat: 'text' | 'json';
  retention: RetentionConfig;
}

export interface NotificationConfig {
  /** `smtp://user:pass@host:587` or `smtps://...`; emails fail (and are retried) without it */
  smtpUrl?: string;
  mailFrom: string;
  /** where people reach the portal: links in webhooks and emails */
  publicUrl: string;
}

export interface RetentionConfig {
  /** finished jobs (done, cancel) with their steps, events and deliveries, after this many days */
  jobDays: number;
  /** jobs that ended `error`, kept longer to look into */
  errorJobDays: number;
}

export interface HttpConfig {
  /** how long an idle keep-alive connection stays open: above clients' and load balancers' idle times */
  keepAliveTimeoutSeconds: number;
  /** how long a client may take to send a request's headers: above keepAliveTimeoutSeconds */
  headersTimeoutSeconds: number;
  /** the largest request body accepted (JSON or YAML); larger ones get 413 */
  bodyLimitBytes: number;
}

export interface ScheduleConfig {
  /** a slot missed while every node was down: run it once on start, or skip it */
  missed: 'once' | 'skip';
  /** the IANA zone `at` times and `cron` expressions are read in */
  timeZone: string;
}

export interface EngineConfig {
  /** run a worker in `quire serve` (QUIRE_ENGINE=off for API-only nodes) */
  enabled: boolean;
  /** jobs one node runs at once */
  concurrency: number;
  leaseSeconds: number;
  heartbeatSeconds: number;
  pollMs: number;
  shutdownGraceSeconds: number;
  outputFlushMs: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be on or off (got '${env[name]}')`);
}

/** `default:8,deploy:2` → { default: 8, deploy: 2 }; `default` is always present. */
export function parseChannels(raw: string | undefined): Record<string, number> {
  const channels: Record<string, number> = { default: 8 };
  if (!raw) return channels;
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_.-]+):(\d+)$/.exec(part);
    if (!match || Number(match[2]) < 1) {
      throw new ConfigError('QUIRE_CHANNELS', `expected name:capacity pairs like 'default:8,deploy:2' (bad part '${part}')`);
    }
    channels[match[1]!] = Number(match[2]);
  }
  return channels;
}

/** A URL variable, if set, with one of `protocols`; the message never repeats its value (passwords). */
function urlVariable(env: Env, name: string, protocols: string[], example: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a URL (expected ${example})`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')} (got '${url.protocol}')`);
  }
  return raw;
}

const databaseUrl = (env: Env) => urlVariable(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], 'postgres://user@host:port/database');
const smtpUrl = (env: Env) => urlVariable(env, 'QUIRE_SMTP_URL', ['smtp:', 'smtps:'], 'smtp://user:pass@host:587 or smtps://...');

function publicUrl(env: Env, host: string, port: number): string {
  const raw = env.QUIRE_PUBLIC_URL;
  if (!raw) return `http://${host}:${port}`;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError('QUIRE_PUBLIC_URL', `must be an http:// or https:// URL (got '${raw}')`);
  }
  return raw.replace(/\/+$/, '');
}

function logFormat(env: Env): QuireConfig['logFormat'] {
  const raw = env.QUIRE_LOG_FORMAT || 'text';
  if (raw !== 'text' && raw !== 'json') throw new ConfigError('QUIRE_LOG_FORMAT', `must be text or json (got '${raw}')`);
  return raw;
}

function missedPolicy(env: Env): ScheduleConfig['missed'] {
  const raw = env.QUIRE_SCHEDULE_MISSED || 'once';
  if (raw !== 'once' && raw !== 'skip') throw new ConfigError('QUIRE_SCHEDULE_MISSED', `must be once or skip (got '${raw}')`);
  return raw;
}

/** QUIRE_TIMEZONE, else the zone the process runs in (TZ, as Node applied it). */
function timeZone(env: Env): string {
  const raw = env.QUIRE_TIMEZONE;
  if (!raw) return Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: raw }).resolvedOptions().timeZone;
  } catch {
    throw new ConfigError('QUIRE_TIMEZONE', `must be a time zone name such as UTC or Europe/Paris (got '${raw}')`);
  }
}

/**
 * Node closes an idle keep-alive connection after 5 s by default, while pooling clients (undici,
 * load balancers: AWS ALB 60 s) may keep it longer and send on it as it closes: "other side
 * closed" (issue 11). 65 s outlasts them; the headers timeout must exceed it, or Node can end a
 * reused connection that is slow to send its next request's headers before the idle timeout.
 */
function httpConfig(env: Env): HttpConfig {
  const keepAliveTimeoutSeconds = integer(env, 'QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', 65, 1, 3600);
  const headersTimeoutSeconds = integer(env, 'QUIRE_HTTP_HEADERS_TIMEOUT_SECONDS', keepAliveTimeoutSeconds + 1, 1, 3601);
  if (headersTimeoutSeconds <= keepAliveTimeoutSeconds) {
    throw new ConfigError(
      'QUIRE_HTTP_HEADERS_TIMEOUT_SECONDS',
      `must be above QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS (${keepAliveTimeoutSeconds}); got ${headersTimeoutSeconds}`,
    );
  }
  return { keepAliveTimeoutSeconds, headersTimeoutSeconds, bodyLimitBytes: integer(env, 'QUIRE_HTTP_BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 1024 ** 3) };
}

export function loadConfig(env: Env = process.env): QuireConfig {
  const logLevel = env.QUIRE_LOG_LEVEL ?? 'log';
  if (!['error', 'warn', 'log', 'debug'].includes(logLevel)) {
    throw new ConfigError('QUIRE_LOG_LEVEL', `must be one of error, warn, log, debug (got '${logLevel}')`);
  }
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = env.QUIRE_HOST || '127.0.0.1';
  const leaseSeconds = integer(env, 'QUIRE_LEASE_SECONDS', 15, 3, 3600);
  const heartbeatSeconds = integer(env, 'QUIRE_HEARTBEAT_SECONDS', 1, 1, 60);
  // A lease must survive a missed beat, or a busy worker would lose the jobs it is running.
  if (heartbeatSeconds * 3 > leaseSeconds) {
    throw new ConfigError('QUIRE_HEARTBEAT_SECONDS', `must be at most a third of QUIRE_LEASE_SECONDS (${leaseSeconds}); got ${heartbeatSeconds}`);
  }
  return {
    port,
    host,
    databaseUrl: databaseUrl(env),
    dataDir: resolve(env.QUIRE_DATA_DIR || '.quire'),
    booksDir: resolve(env.QUIRE_BOOKS_DIR || 'books'),
    channels: parseChannels(env.QUIRE_CHANNELS),
    learnMinSamples: integer(env, 'QUIRE_LEARN_MIN_SAMPLES', 3, 1, 1_000_000),
    logLevel: logLevel as QuireConfig['logLevel'],
    allowedOrigins: (env.QUIRE_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    workerId: env.QUIRE_WORKER_ID || `${env.HOSTNAME ?? 'node'}:${process.pid}`,
    eventRetentionDays: integer(env, 'QUIRE_EVENT_RETENTION_DAYS', 30, 1, 36_500),
    tokenRecheckSeconds: integer(env, 'QUIRE_TOKEN_RECHECK_SECONDS', 30, 1, 3600),
    rateLimitPerMinute: integer(env, 'QUIRE_RATE_LIMIT_PER_MINUTE', 120, 1, 1_000_000),
    schedules: { missed: missedPolicy(env), timeZone: timeZone(env) },
    http: httpConfig(env),
    notifications: { smtpUrl: smtpUrl(env), mailFrom: env.QUIRE_MAIL_FROM || 'quire@localhost', publicUrl: publicUrl(env, host, port) },
    logFormat: logFormat(env),
    retention: {
      jobDays: integer(env, 'QUIRE_JOB_RETENTION_DAYS', 30, 1, 36_500),
      errorJobDays: integer(env, 'QUIRE_JOB_ERROR_RETENTION_DAYS', 90, 1, 36_500),
    },
    engine: {
      enabled: flag(env, 'QUIRE_ENGINE', true),
      concurrency: integer(env, 'QUIRE_WORKER_CONCURRENCY', 8, 1, 1000),
      leaseSeconds,
      heartbeatSeconds,
      pollMs: integer(env, 'QUIRE_POLL_MS', 1000, 50, 60_000),
      shutdownGraceSeconds: integer(env, 'QUIRE_SHUTDOWN_GRACE_SECONDS', 10, 0, 3600),
      outputFlushMs: integer(env, 'QUIRE_OUTPUT_FLUSH_MS', 100, 50, 10_000),
    },
  };
}
