// Domain errors carry a code; only the API edge maps codes to HTTP statuses (STYLE.md habit 7).

export enum ErrorCode {
  NotFound = 'not_found',
  InvalidParams = 'invalid_params',
  InvalidInput = 'invalid_input',
  InvalidBook = 'invalid_book',
  StateConflict = 'state_conflict',
  IdempotencyConflict = 'idempotency_conflict',
  Conflict = 'conflict',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  TooManyRequests = 'too_many_requests',
}

/** One precise problem: where (a field path, or a file position) and what. */
export interface ErrorDetail {
  field?: string;
  message: string;
  file?: string;
  line?: number;
  col?: number;
  step?: string;
  value?: unknown;
  /** a job the problem is about (e.g. the live job a differing trigger ran into) */
  job_id?: string;
  params?: unknown;
}

export class QuireError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'QuireError';
  }
}

export const notFound = (what: string, id: string) => new QuireError(ErrorCode.NotFound, `${what} '${id}' not found`);
