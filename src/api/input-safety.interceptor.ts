// Every HTTP request's path parameters, query and body pass unsafeInput() before any handler
// runs: one place, so that no controller can forget it (issue 8 item 7).
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { ErrorCode, QuireError } from '../common/errors.js';
import { unsafeInput } from '../common/input-safety.js';

@Injectable()
export class InputSafetyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const problems = [...unsafeInput(request.params, 'path'), ...unsafeInput(request.query, 'query'), ...unsafeInput(request.body, '')];
    if (problems.length) {
      const route = (request.route as { path?: string } | undefined)?.path;
      const where = problems.some((p) => p.field?.startsWith('path.')) && route ? ` (route ${route})` : '';
      throw new QuireError(ErrorCode.InvalidInput, `invalid request${where}: ${problems.map((p) => p.message).join('; ')}`, problems);
    }
    return next.handle();
  }
}
