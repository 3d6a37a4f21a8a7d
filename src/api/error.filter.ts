import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { ErrorCode, QuireError } from '../common/errors.js';
import { describeDbError } from '../db/db-logger.js';

const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.NotFound]: 404,
  [ErrorCode.InvalidParams]: 400,
  [ErrorCode.InvalidInput]: 400,
  [ErrorCode.InvalidBook]: 422,
  [ErrorCode.StateConflict]: 409,
  [ErrorCode.IdempotencyConflict]: 422,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.TooManyRequests]: 429,
};

// The one place where domain errors become HTTP: `{ error, message, details }`.
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('API');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (exception instanceof QuireError) {
      response.status(STATUS[exception.code]).json({ error: exception.code, message: exception.message, details: exception.details });
      return;
    }
    // express's body parser: malformed JSON or an oversize body (Nest wraps them, keeping the cause)
    const cause = exception instanceof HttpException ? exception.cause : undefined;
    const bodyError = (cause ?? exception) as { type?: string; status?: number; message?: string; limit?: number };
    if (bodyError?.type === 'entity.parse.failed') {
      response.status(400).json({ error: ErrorCode.InvalidInput, message: `malformed JSON body: ${bodyError.message}`, details: [] });
      return;
    }
    if (bodyError?.type === 'entity.too.large') {
      const limit = bodyError.limit === undefined ? '' : `: over ${bodyError.limit} bytes (QUIRE_HTTP_BODY_LIMIT_BYTES)`;
      response.status(413).json({ error: ErrorCode.InvalidInput, message: `request body too large${limit}`, details: [] });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const message = typeof body === 'string' ? body : ((body as { message?: string }).message ?? exception.message);
      response.status(status).json({ error: status === 404 ? ErrorCode.NotFound : ErrorCode.InvalidInput, message, details: [] });
      return;
    }
    // A failed query's error carries its parameters and PostgreSQL's message quotes values: log neither.
    if (exception instanceof QueryFailedError) this.logger.error(`database error: ${describeDbError(exception.driverError ?? exception)}`);
    else this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    response.status(500).json({ error: 'internal', message: 'internal error, see the server log', details: [] });
  }
}
