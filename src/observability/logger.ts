// The process's logger, behind Nest's LoggerService so every `new Logger(context)` goes through
// it. QUIRE_LOG_FORMAT=json writes one JSON object a line through pino, for log shippers, with
// the job, step and deployment of the work in hand; `text` (the default) is Nest's console
// format, coloured on a terminal. The ids come from an AsyncLocalStorage that the runner and the
// notification sender fill, so a line logged anywhere below them carries them without being told.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConsoleLogger, type LogLevel, type LoggerService } from '@nestjs/common';
import { pino, type Logger as Pino } from 'pino';
import type { QuireConfig } from '../config/config.js';

export interface LogFields {
  job_id?: string;
  step?: string;
  deployment?: string;
  group?: string;
  cluster?: string;
  book?: string;
  delivery_id?: string;
}

const context = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with `fields` added to every line it (and what it starts) logs. */
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  const merged = { ...context.getStore(), ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null)) };
  return context.run(merged, fn);
}

export function logFields(): LogFields {
  return context.getStore() ?? {};
}

export const LOG_LEVELS: Record<QuireConfig['logLevel'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  log: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

// Nest's start-up inventory (one line per module and per route) is for debugging the app, not
// for operating it: at debug level, not at every start.
const DEBUG_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader']);

const PINO_LEVELS: Record<LogLevel, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

export function createLogger(config: Pick<QuireConfig, 'logLevel' | 'logFormat' | 'workerId'>): LoggerService {
  return config.logFormat === 'json' ? new JsonLogger(config) : new TextLogger(config.logLevel);
}

/** Nest's `(message, ...params)` convention: a trailing string is the context; error's first extra a stack. */
function split(level: LogLevel, params: unknown[]): { context?: string; stack?: string; extra: unknown[] } {
  const rest = [...params];
  const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
  const stack = level === 'error' && typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
  return { context, stack, extra: rest };
}

class TextLogger extends ConsoleLogger {
  constructor(level: QuireConfig['logLevel']) {
    // Colour codes only for a person at a terminal, not in files and log collectors.
    super({ logLevels: LOG_LEVELS[level], colors: !!process.stdout.isTTY && !process.env.NO_COLOR });
  }

  override log(message: unknown, ...params: unknown[]): void {
    const { context } = split('log', params);
    if (context && DEBUG_CONTEXTS.has(context)) super.debug(message, ...params);
    else super.log(message, ...params);
  }
}

class JsonLogger implements LoggerService {
  private readonly pino: Pino;

  constructor(config: Pick<QuireConfig, 'logLevel' | 'workerId'>) {
    this.pino = pino(
      {
        level: PINO_LEVELS[config.logLevel === 'debug' ? 'verbose' : config.logLevel],
        base: { node: config.workerId },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      // Synchronous: the last lines before a crash or process.exit are the ones that matter.
      pino.destination({ dest: 1, sync: true }),
    );
  }

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    const { context: where, stack, extra } = split(level, params);
    const effective = level === 'log' && where && DEBUG_CONTEXTS.has(where) ? 'debug' : level;
    const fields: Record<string, unknown> = { ...logFields() };
    if (where) fields.context = where;
    if (stack) fields.stack = stack;
    if (extra.length) fields.extra = extra;
    if (message instanceof Error) {
      fields.err = { message: message.message, stack: message.stack };
      this.pino[PINO_LEVELS[effective]](fields, message.message);
    } else if (message !== null && typeof message === 'object') {
      this.pino[PINO_LEVELS[effective]]({ ...fields, ...(message as object) });
    } else {
      this.pino[PINO_LEVELS[effective]](fields, String(message));
    }
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }
}
