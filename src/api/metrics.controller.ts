import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { CurrentPrincipal } from './principal.decorator.js';
import { requireUnscoped, type Principal } from '../auth/principal.js';
import { metrics } from '../observability/metrics.js';

// Prometheus text exposition (prom-client). Counters and histograms are this process's, recorded
// where things happen; the queue's gauges are read from the database now, so every node reports
// the same queue. Scrape every node for the counters; any one of them for the queue.
@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics: jobs created and ended, step durations, claim latency, queue depth and lag, events, notifications, process' })
  @Header('content-type', metrics.registry.contentType)
  async metrics(@CurrentPrincipal() principal: Principal): Promise<string> {
    requireUnscoped(principal, 'metrics count jobs and events of every cluster');
    await this.collect();
    return metrics.registry.metrics();
  }

  private async collect(): Promise<void> {
    const [jobs, steps, queue, lag, events, pending] = await Promise.all([
      this.rows<{ state: string; channel: string; n: number }>(`SELECT state, channel, count(*)::int AS n FROM jobs GROUP BY state, channel`),
      this.rows<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM job_steps WHERE state IN ('running', 'retrying', 'waiting') GROUP BY state`),
      this.rows<{ channel: string; n: number }>(`SELECT channel, count(*)::int AS n FROM jobs WHERE state = 'scheduled' AND run_at <= now() GROUP BY channel`),
      this.rows<{ s: number }>(`SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(run_at)), 0)::float8 AS s FROM jobs WHERE state = 'scheduled' AND run_at <= now()`),
      this.rows<{ seq: string }>(`SELECT COALESCE(max(seq), 0)::bigint AS seq FROM deploy_events`),
      this.rows<{ n: number }>(`SELECT count(*)::int AS n FROM notification_deliveries WHERE state = 'pending'`),
    ]);
    // Reset first: a state or channel with no jobs left must not keep its last count.
    metrics.jobs.reset();
    for (const r of jobs) metrics.jobs.set({ state: r.state, channel: r.channel }, r.n);
    metrics.stepsActive.reset();
    for (const state of ['running', 'retrying', 'waiting']) metrics.stepsActive.set({ state }, steps.find((r) => r.state === state)?.n ?? 0);
    metrics.queueDepth.reset();
    for (const r of queue) metrics.queueDepth.set({ channel: r.channel }, r.n);
    metrics.queueLag.set(Number(lag[0]?.s ?? 0));
    metrics.eventsSeq.set(Number(events[0]?.seq ?? 0));
    metrics.notificationsPending.set(pending[0]?.n ?? 0);
  }

  private rows<T>(sql: string): Promise<T[]> {
    return this.dataSource.query(sql) as Promise<T[]>;
  }
}
