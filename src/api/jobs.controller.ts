import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { JOB_PAGE, JobsService } from '../jobs/jobs.service.js';
import { checkInput } from '../common/input.js';
import { RequireRole } from './auth.decorators.js';
import { CurrentPrincipal, describePrincipal } from './principal.decorator.js';
import type { Principal } from '../auth/principal.js';

const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$';

const LIST_QUERY = {
  type: 'object',
  properties: {
    deployment: { type: 'string' },
    state: { type: 'string' },
    book: { type: 'string' },
    action: { type: 'string', maxLength: 200 },
    target: { type: 'string', maxLength: 200 },
    q: { type: 'string', maxLength: 200 },
    // a date (2026-12-03) or a date-time with its offset (2026-12-03T08:00:00Z)
    since: { type: 'string', pattern: DATE },
    until: { type: 'string', pattern: DATE },
    attention: { enum: ['true', 'false'] },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
    cursor: { type: 'string', maxLength: 36 },
  },
  additionalProperties: false,
};

const NOTE_BODY = { type: 'object', properties: { note: { type: 'string', maxLength: 2000 } }, additionalProperties: false };

@ApiTags('jobs')
@Controller('api/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @ApiOperation({ summary: 'One page of jobs, newest first: { jobs, next_cursor }; pass next_cursor as cursor for the next page' })
  @ApiQuery({ name: 'limit', required: false, description: `jobs per page: default ${JOB_PAGE.default}, at most ${JOB_PAGE.max}` })
  @ApiQuery({
    name: 'cursor',
    required: false,
    description: 'the next_cursor of the page before (the same filters); absent: the first page',
  })
  @Get()
  async list(@Query() query: Record<string, string>, @CurrentPrincipal() principal: Principal) {
    const q = checkInput<Record<string, string | undefined>>(LIST_QUERY, { ...query }, 'query');
    return this.jobs.list({ ...q, attention: q.attention === 'true', limit: q.limit ? Number(q.limit) : undefined }, principal);
  }

  /** What the portal's navigation counts: jobs waiting for a person. */
  @ApiOperation({ summary: 'Counts for the navigation: jobs waiting for a person' })
  @Get('summary')
  async summary(@CurrentPrincipal() principal: Principal) {
    return { waiting: await this.jobs.waitingCount(principal) };
  }

  @Get(':id')
  async get(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return { job: await this.jobs.get(id, principal) };
  }

  /** 200 when the job ended at once, 202 when its worker was asked to stop it. */
  @ApiOperation({ summary: 'Cancel: 200 when it ended at once, 202 when its worker was asked to stop it' })
  @Post(':id/cancel')
  @RequireRole('operator')
  async cancel(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response) {
    const { job, immediate } = await this.jobs.cancel(id, describePrincipal(principal), principal);
    res.status(immediate ? 200 : 202);
    return { job };
  }

  @ApiOperation({ summary: 'Run an error/cancel job again from its failed step' })
  @Post(':id/resume')
  @RequireRole('operator')
  @HttpCode(202)
  async resume(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return { job: await this.jobs.resume(id, describePrincipal(principal), principal) };
  }

  @ApiOperation({ summary: 'Acknowledge a waiting manual step' })
  @ApiBody({ schema: NOTE_BODY as object })
  @Post(':id/steps/:step/ack')
  @RequireRole('operator')
  @HttpCode(200)
  async ack(@Param('id') id: string, @Param('step') step: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const { note } = checkInput<{ note?: string }>(NOTE_BODY, body ?? {});
    return { job: await this.jobs.resolveManual(id, step, 'ack', describePrincipal(principal), note, principal) };
  }

  @ApiOperation({ summary: 'Reject a waiting manual step' })
  @ApiBody({ schema: NOTE_BODY as object })
  @Post(':id/steps/:step/reject')
  @RequireRole('operator')
  @HttpCode(200)
  async reject(@Param('id') id: string, @Param('step') step: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const { note } = checkInput<{ note?: string }>(NOTE_BODY, body ?? {});
    return { job: await this.jobs.resolveManual(id, step, 'reject', describePrincipal(principal), note, principal) };
  }
}
