// What the database layer may log: a failed query's statement and PostgreSQL's error code, never
// its parameters (deployment vars, params, token hashes ride in them) nor the values PostgreSQL
// quotes back in its messages (`invalid input syntax for type integer: "<the value>"`). TypeORM's
// console logger printed both for every failed query (issue 8 item 7).
import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/** PostgreSQL's message with every quoted literal and key detail replaced by "…". */
export function describeDbError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const redacted = message.replace(/"(?:[^"]|"")*"/g, '"…"').replace(/\(([^()]*)\)=\(.*\)/g, '($1)=(…)');
  return typeof e?.code === 'string' ? `${redacted} (SQLSTATE ${e.code})` : redacted;
}

/** The first line of a statement, shortened: enough to find it in the code. */
function statement(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export class SafeDbLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');

  logQuery(): void {
    // every query: never logged (parameters included)
  }

  logQueryError(error: string | Error, query: string): void {
    this.logger.error(`query failed: ${describeDbError(error)} in: ${statement(query)}`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`slow query (${time} ms): ${statement(query)}`);
  }

  logSchemaBuild(): void {}

  logMigration(): void {}

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(describeDbError(message));
  }
}
