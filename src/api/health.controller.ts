import { Controller, Get, HttpStatus, Logger, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from './auth.decorators.js';
import { EngineService } from '../engine/engine.service.js';

// For load balancers and orchestrators: 200 when this node can reach the database and, if it
// runs a worker, that worker's claim loop goes round; 503 with what is wrong otherwise.
@Controller()
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly dataSource: DataSource,
    private readonly engine: EngineService,
  ) {}

  @Public()
  @Get('health')
  async health(@Res({ passthrough: true }) response: Response) {
    const started = performance.now();
    let database: { ok: boolean; latency_ms?: number; error?: string };
    try {
      await this.dataSource.query('SELECT 1');
      database = { ok: true, latency_ms: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      // No token here: the reason goes to the log, not to whoever asks.
      this.logger.warn(`health: database query failed: ${(error as Error).message}`);
      database = { ok: false, error: 'the database did not answer' };
    }
    const worker = this.engine.workerStatus();
    const ok = database.ok && (!worker.enabled || worker.ok === true);
    if (!ok) response.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ok ? 'ok' : 'unavailable', database, worker };
  }
}
