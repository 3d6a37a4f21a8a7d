import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { PUBLIC_KEY, ROLE_KEY } from './auth.decorators.js';
import { TokensService } from '../auth/tokens.service.js';
import { bearerToken, roleAllows, type Principal } from '../auth/principal.js';
import type { Role } from '../auth/api-token.entity.js';
import { ErrorCode, QuireError } from '../common/errors.js';

export type AuthedRequest = Request & { principal?: Principal };

// Secure by default: every route needs a token; reads need `viewer`, anything else `admin`
// unless the route names a lesser role with @RequireRole.
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new QuireError(ErrorCode.Unauthenticated, 'missing bearer token: send Authorization: Bearer <token>');
    const principal = await this.tokens.verify(token);
    if (!principal) throw new QuireError(ErrorCode.Unauthenticated, 'invalid, revoked or expired token');
    const needed =
      this.reflector.getAllAndOverride<Role>(ROLE_KEY, targets) ??
      (['GET', 'HEAD', 'OPTIONS'].includes(request.method) ? 'viewer' : 'admin');
    if (!roleAllows(principal.role, needed)) {
      throw new QuireError(ErrorCode.Forbidden, `this call needs the '${needed}' role; the token has '${principal.role}'`);
    }
    request.principal = principal;
    return true;
  }
}
