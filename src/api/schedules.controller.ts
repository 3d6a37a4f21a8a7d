import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { SchedulesService } from '../scheduler/schedules.service.js';
import { checkInput } from '../common/input.js';
import { RequireRole } from './auth.decorators.js';
import { CurrentPrincipal, describePrincipal } from './principal.decorator.js';
import type { Principal } from '../auth/principal.js';

const LIST_QUERY = {
  type: 'object',
  properties: { deployment: { type: 'string' }, book: { type: 'string' } },
  additionalProperties: false,
};

const ENTRY = {
  type: 'object',
  description: 'exactly one of every (duration), at (HH:MM or a list, engine time zone) or cron',
  properties: {
    every: { type: ['string', 'number'] },
    at: { type: ['string', 'array'], items: { type: 'string' } },
    cron: { type: 'string' },
  },
};

const PATCH_BODY = {
  type: 'object',
  properties: { enabled: { type: 'boolean' }, override: { anyOf: [ENTRY, { type: 'null' }] } },
  additionalProperties: false,
};

// Schedules are made from books (one per entry and target); operators list them, switch them
// on and off, override their times (admin) and run them now (operator).
@ApiTags('schedules')
@Controller('api/schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @ApiOperation({ summary: 'Schedules with their next and last run (filters: deployment id or name, book name)' })
  @Get()
  async list(@Query() query: Record<string, string>, @CurrentPrincipal() principal: Principal) {
    const q = checkInput<{ deployment?: string; book?: string }>(LIST_QUERY, { ...query }, 'query');
    return { schedules: await this.schedules.list(q, principal) };
  }

  @ApiOperation({ summary: 'Enable, disable or override a schedule (override null drops it); 400 naming a bad spec' })
  @ApiBody({ schema: PATCH_BODY as object })
  @Patch(':id')
  @RequireRole('admin')
  async update(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    // The override's own checks (one of every/at/cron, a valid cron...) name the field in SchedulesService.
    const input = checkInput<{ enabled?: boolean; override?: unknown }>(
      { ...PATCH_BODY, properties: { ...PATCH_BODY.properties, override: {} } },
      body ?? {},
    );
    return { schedule: await this.schedules.update(id, input, principal) };
  }

  @ApiOperation({ summary: 'Run now: 202 with the job (200 with the live one when the book is unique per target)' })
  @Post(':id/run')
  @RequireRole('operator')
  @HttpCode(202)
  async run(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response) {
    const result = await this.schedules.runNow(id, principal, describePrincipal(principal));
    if (!result.created) res.status(200);
    return { job: result.job, created: result.created };
  }
}
