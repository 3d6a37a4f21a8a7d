import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';

// Prometheus text exposition, read from the database so every node reports the same totals.
@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics (jobs by state and channel, running steps, queue lag, events)' })
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    const [jobs, steps, lag, events] = await Promise.all([
      this.dataSource.query(`SELECT state, channel, count(*)::int AS n FROM jobs GROUP BY state, channel`) as Promise<{ state: string; channel: string; n: number }[]>,
      this.dataSource.query(`SELECT state, count(*)::int AS n FROM job_steps WHERE state IN ('running', 'retrying', 'waiting') GROUP BY state`) as Promise<
        { state: string; n: number }[]
      >,
      this.dataSource.query(
        `SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(run_at)), 0)::float AS s FROM jobs WHERE state = 'scheduled' AND run_at <= now()`,
      ) as Promise<{ s: number }[]>,
      this.dataSource.query(`SELECT COALESCE(max(seq), 0)::bigint AS seq FROM deploy_events`) as Promise<{ seq: string }[]>,
    ]);
    const lines = [
      '# HELP quire_jobs Jobs by state and channel.',
      '# TYPE quire_jobs gauge',
      ...jobs.map((r) => `quire_jobs{state="${r.state}",channel="${escapeLabel(r.channel)}"} ${r.n}`),
      '# HELP quire_steps_active Steps running, waiting for a retry, or waiting for a person.',
      '# TYPE quire_steps_active gauge',
      ...steps.map((r) => `quire_steps_active{state="${r.state}"} ${r.n}`),
      '# HELP quire_queue_lag_seconds Age of the oldest job that could start but has not.',
      '# TYPE quire_queue_lag_seconds gauge',
      `quire_queue_lag_seconds ${Number(lag[0]?.s ?? 0).toFixed(3)}`,
      '# HELP quire_events_seq The last deploy event sequence number.',
      '# TYPE quire_events_seq counter',
      `quire_events_seq ${events[0]?.seq ?? 0}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
