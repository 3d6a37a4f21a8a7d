import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { JobsService, type Scope } from '../jobs/jobs.service.js';
import { RequireRole } from './auth.decorators.js';
import { CurrentPrincipal, describePrincipal } from './principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { checkInput } from '../common/input.js';

const TRIGGER_BODY = {
  type: 'object',
  properties: { params: { type: 'object' } },
  additionalProperties: false,
};

const FAN_OUT_BODY = {
  type: 'object',
  properties: { params: { type: 'object' }, kind: { type: 'string', maxLength: 128 } },
  additionalProperties: false,
};

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

// Triggering a lifecycle action: 202 with the job. A repeated trigger that `unique` or an
// Idempotency-Key resolves to an existing job answers 200 with that job.
@ApiTags('actions')
@Controller('api')
export class ActionsController {
  constructor(private readonly jobs: JobsService) {}

  @ApiOperation({ summary: 'Trigger an action on a deployment (id or name): 202 with the job; 200 with the existing one (unique, Idempotency-Key)' })
  @ApiBody({ schema: TRIGGER_BODY as object })
  @Post('deployments/:target/actions/:action')
  @RequireRole('operator')
  @HttpCode(202)
  deployment(@Param('target') target: string, @Param('action') action: string, @Body() body: unknown, @Headers('idempotency-key') key: string | undefined, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response) {
    return this.trigger('deployment', target, action, body, key, principal, res);
  }

  @ApiOperation({ summary: 'Trigger a group book' })
  @ApiBody({ schema: TRIGGER_BODY as object })
  @Post('groups/:target/actions/:action')
  @RequireRole('operator')
  @HttpCode(202)
  group(@Param('target') target: string, @Param('action') action: string, @Body() body: unknown, @Headers('idempotency-key') key: string | undefined, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response) {
    return this.trigger('group', target, action, body, key, principal, res);
  }

  @ApiOperation({ summary: 'Trigger a cluster book' })
  @ApiBody({ schema: TRIGGER_BODY as object })
  @Post('clusters/:target/actions/:action')
  @RequireRole('operator')
  @HttpCode(202)
  cluster(@Param('target') target: string, @Param('action') action: string, @Body() body: unknown, @Headers('idempotency-key') key: string | undefined, @CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response) {
    return this.trigger('cluster', target, action, body, key, principal, res);
  }

  @ApiOperation({
    summary:
      'Trigger a deployment action on every deployment of a group (optionally of one `kind`): 202 with { created, existing, jobs: [{ id, deployment, created }], refused: [{ deployment, error, message }] }',
  })
  @ApiBody({ schema: FAN_OUT_BODY as object })
  @Post('groups/:target/deployments/actions/:action')
  @RequireRole('operator')
  @HttpCode(202)
  groupDeployments(@Param('target') target: string, @Param('action') action: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.fanOut('group', target, action, body, principal);
  }

  @ApiOperation({ summary: 'Trigger a deployment action on every deployment of a cluster (optionally of one `kind`): as for a group' })
  @ApiBody({ schema: FAN_OUT_BODY as object })
  @Post('clusters/:target/deployments/actions/:action')
  @RequireRole('operator')
  @HttpCode(202)
  clusterDeployments(@Param('target') target: string, @Param('action') action: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.fanOut('cluster', target, action, body, principal);
  }

  private async fanOut(scope: 'group' | 'cluster', target: string, action: string, body: unknown, principal: Principal) {
    const input = checkInput<{ params?: Record<string, unknown>; kind?: string }>(FAN_OUT_BODY, body ?? {});
    return this.jobs.triggerEach({ scope, target, action, params: input.params, kind: input.kind, triggeredBy: describePrincipal(principal), principal });
  }

  private async trigger(scope: Scope, target: string, action: string, body: unknown, key: string | undefined, principal: Principal, res: Response) {
    const input = checkInput<{ params?: Record<string, unknown> }>(TRIGGER_BODY, body ?? {});
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      checkInput({ type: 'string', pattern: IDEMPOTENCY_KEY.source }, key, 'Idempotency-Key header');
    }
    const result = await this.jobs.trigger({ scope, target, action, params: input.params, triggeredBy: describePrincipal(principal), idempotencyKey: key, principal });
    if (!result.created) res.status(200);
    return { job: result.job, created: result.created };
  }
}
