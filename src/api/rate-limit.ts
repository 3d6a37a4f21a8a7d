// Validation and plans are the API's CPU-heavy calls (a 1 MB book takes seconds to validate):
// each token gets QUIRE_RATE_LIMIT_PER_MINUTE of them, then 429 with Retry-After, through
// express-rate-limit. (@nestjs/throttler 6.7 is CommonJS requiring the ESM-only @nestjs/common
// 12, which jest's module runtime cannot load on Node 20.) Keyed by token, not by address: a
// proxy in front of many people is not one person, and one token from many addresses is one.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { ErrorCode } from '../common/errors.js';

export const EXPENSIVE_ROUTES = ['/api/books/validate', '/api/books/plan'];

export function expensiveCallsLimiter(perMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // The token's hash, never the token: the limiter's memory is not a place for secrets.
    keyGenerator: (req: Request) => {
      const auth = req.headers.authorization;
      return auth ? `token:${createHash('sha256').update(auth).digest('hex')}` : `address:${ipKeyGenerator(req.ip ?? '')}`;
    },
    handler: (_req: Request, res: Response) => {
      res.status(429).json({
        error: ErrorCode.TooManyRequests,
        message: `at most ${perMinute} validations and plans a minute per token (QUIRE_RATE_LIMIT_PER_MINUTE); retry after ${res.getHeader('retry-after') ?? 60} s`,
        details: [],
      });
    },
  });
}
