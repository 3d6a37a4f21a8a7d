import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Controller, Get, Query } from '@nestjs/common';
import { FleetService } from '../inventory/fleet.service.js';
import { checkInput } from '../common/input.js';
import { CurrentPrincipal } from './principal.decorator.js';
import type { Principal } from '../auth/principal.js';

const TEXT = { type: 'string', maxLength: 200 };
const FLEET_QUERY = {
  type: 'object',
  properties: {
    cluster: TEXT,
    group: TEXT,
    kind: TEXT,
    state: TEXT,
    q: TEXT,
    attention: { enum: ['true', 'false'] },
    offset: { type: 'string', pattern: '^[0-9]{1,7}$' },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
  },
  additionalProperties: false,
};

@ApiTags('inventory')
@Controller('api/fleet')
export class FleetController {
  constructor(private readonly fleet: FleetService) {}

  @ApiOperation({ summary: 'One page of deployments with their last job and the job that set their state' })
  @Get()
  async page(@Query() query: Record<string, string>, @CurrentPrincipal() principal: Principal) {
    const q = checkInput<Record<string, string | undefined>>(FLEET_QUERY, { ...query }, 'query');
    return this.fleet.page(
      {
        ...q,
        attention: q.attention === 'true',
        offset: q.offset ? Number(q.offset) : undefined,
        limit: q.limit ? Number(q.limit) : undefined,
      },
      principal,
    );
  }
}
