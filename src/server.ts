// Boots the service: database (migrated), books and inventory loaded, the first admin token,
// then the HTTP API. `quire serve` and the end-to-end tests start it the same way.
import 'reflect-metadata';
import compression from 'compression';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from '@nestjs/common';
import { AppModule } from './app.module.js';
import type { HttpConfig, QuireConfig } from './config/config.js';
import type { Server as HttpServer } from 'node:http';
import { openDatabase, type Database } from './db/database.js';
import { BooksService } from './books/books.service.js';
import { TokensService } from './auth/tokens.service.js';
import { applySecurityHeaders } from './api/security-headers.js';
import { EventsGateway } from './events/events.gateway.js';
import { setupOpenApi } from './api/openapi.js';
import { formatProblem } from './books/problem.js';
import { openPubSub, useLogger } from './node-setup.js';
import { EXPENSIVE_ROUTES, expensiveCallsLimiter } from './api/rate-limit.js';

export interface RunningServer {
  app: NestExpressApplication;
  database: Database;
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: QuireConfig, options: { engine?: boolean } = {}): Promise<RunningServer> {
  const appLogger = useLogger(config);
  const logger = new Logger('Quire');
  const database = await openDatabase(config);
  logger.log(database.embedded ? `embedded PostgreSQL in ${config.dataDir}` : 'PostgreSQL from DATABASE_URL');
  const pubsub = await openPubSub(database);
  let app: NestExpressApplication | undefined;
  try {
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot(config, database.dataSource, { pubsub, engine: options.engine ?? config.engine.enabled, scheduler: true }),
      // On close, destroy the connections still open (idle keep-alive ones, long polls, upgraded
      // sockets) instead of waiting for their clients: shutdown must end within its grace period.
      { logger: appLogger, forceCloseConnections: true },
    );
    applySecurityHeaders(app);
    // gzip (or deflate) for static files and API answers over 1 KiB: the portal's scripts and
    // a job with its steps' output shrink 4-10x. socket.io frames are not HTTP bodies.
    app.use(compression());
    // Books arrive as YAML text on /api/books/validate.
    app.useBodyParser('json', { limit: config.http.bodyLimitBytes });
    app.useBodyParser('text', { type: ['text/*', 'application/yaml', 'application/x-yaml'], limit: config.http.bodyLimitBytes });
    applyHttpTimeouts(app.getHttpServer(), config.http);
    // Limits are per node's memory: a client spread over n nodes gets n times the limit.
    app.use(EXPENSIVE_ROUTES, expensiveCallsLimiter(config.rateLimitPerMinute));

    const reload = await app.get(BooksService).reload();
    for (const problem of reload.problems) logger.warn(formatProblem(problem));
    logger.log(
      `books: ${reload.books} loaded from ${config.booksDir} (${reload.created.length} new versions)` +
        (reload.inventory ? `; inventory: ${reload.inventory.created} created, ${reload.inventory.updated} updated` : ''),
    );
    await app.get(TokensService).ensureAdminToken(config.dataDir);

    setupOpenApi(app);
    await app.get(EventsGateway).attach(app.getHttpServer());
    await app.listen(config.port, config.host);
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    logger.log(`listening on ${url}`);
    const running = app;
    return {
      app: running,
      database,
      url,
      async close() {
        await running.close();
        await pubsub.close();
        await database.close();
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await pubsub.close();
    await database.close();
    throw error;
  }
}

/** Idle keep-alive and header timeouts (config.ts says why); Node requires requestTimeout >= headersTimeout. */
function applyHttpTimeouts(server: HttpServer, http: HttpConfig): void {
  server.keepAliveTimeout = http.keepAliveTimeoutSeconds * 1000;
  server.headersTimeout = http.headersTimeoutSeconds * 1000;
  server.requestTimeout = Math.max(server.requestTimeout, server.headersTimeout);
}
