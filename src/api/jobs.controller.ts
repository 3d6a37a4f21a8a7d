import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { JobsService } from '../jobs/jobs.service.js';
import { checkInput } from '../common/input.js';
import { RequireRole } from './auth.decorators.js';
import { CurrentPrincipal, describePrincipal } from './principal.decorator.js';
import type { Principal } from '../auth/principal.js';

const LIST_QUERY = {
  type: 'object',
  properties: {
    deployment: { type: 'string' },
    state: { type: 'string' },
    book: { type: 'string' },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
  },
  additionalProperties: false,
};

const NOTE_BODY = { type: 'object', properties: { note: { type: 'string', maxLength: 2000 } }, additionalProperties: false };

@ApiTags('jobs')
@Controller('api/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  async list(@Query() query: Record<string, string>, @CurrentPrincipal() principal: Principal) {
    const q = checkInput<{ deployment?: string; state?: string; book?: string; limit?: string }>(LIST_QUERY, { ...query }, 'query');
    return { jobs: await this.jobs.list({ ...q, limit: q.limit ? Number(q.limit) : undefined }, principal) };
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
