// The OpenAPI document, built from the controllers' routes and the JSON Schemas they check
// bodies with; served at /api/docs (UI) and /api/docs-json (the document).
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Quire')
    .setDescription(
      'Deployment books compiled into jobs. Every call but /health (and this document) needs `Authorization: Bearer <token>`; ' +
        'an expired or revoked token answers 401. GET /api/me says who a token is. ' +
        'Roles: viewer reads, operator also triggers/cancels/resumes/acknowledges, admin also manages books, inventory, schedules and tokens. ' +
        'A token limited to some clusters sees records of other clusters as missing (404) and cannot reload books or read /metrics (403). ' +
        'Errors: `{ error, message, details: [{ field, message }] }`. Live events: socket.io on the same port (see README).',
    )
    .setVersion('1')
    .addBearerAuth()
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
