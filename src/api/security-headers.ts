// Headers on every HTTP answer (API, portal, errors, the OpenAPI page): no page of Quire may be
// framed by another site (clickjacking the portal's cancel and approve buttons), and nothing
// names the framework behind it. A full CSP is left out on purpose: `frame-ancestors` is the
// part that protects, and the Swagger UI page would need exceptions for the rest.
import type { NextFunction, Request, Response } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';

export function applySecurityHeaders(app: NestExpressApplication): void {
  app.disable('x-powered-by');
  app.use((_request: Request, response: Response, next: NextFunction) => {
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
}
