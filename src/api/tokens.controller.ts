import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { TokensService, type NewToken } from '../auth/tokens.service.js';
import { ROLES } from '../auth/api-token.entity.js';
import { checkInput } from '../common/input.js';
import { CurrentPrincipal } from './principal.decorator.js';
import { RequireRole } from './auth.decorators.js';
import type { Principal } from '../auth/principal.js';

const CREATE_BODY = {
  type: 'object',
  required: ['name', 'role'],
  properties: {
    name: { type: 'string', maxLength: 200, description: 'who or what uses it' },
    role: { enum: [...ROLES] },
    clusters: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'cluster names or ids the token is limited to; absent: every cluster (unscoped admins only)',
    },
    expires_at: { type: 'string', description: 'ISO 8601 date-time in the future; absent: never expires' },
  },
  additionalProperties: false,
};

// Tokens are an admin's (the guard's default for writes, and stated for reads); a scoped admin
// manages only tokens inside its clusters. `GET /api/me` is for any valid token.
@ApiTags('tokens')
@Controller('api')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @ApiOperation({ summary: 'Who this token is: { name, role, clusters (names) | null, expires_at } (any role)' })
  @Get('me')
  async me(@CurrentPrincipal() principal: Principal) {
    return this.tokens.describe(principal);
  }

  @ApiOperation({ summary: 'Tokens, without their secrets (admin; a scoped admin sees those inside its clusters)' })
  @Get('tokens')
  @RequireRole('admin')
  async list(@CurrentPrincipal() principal: Principal) {
    return { tokens: await this.tokens.list(principal) };
  }

  @ApiOperation({ summary: 'Create a token: 201 { token, secret }; the secret is shown this once, only its hash is stored (admin)' })
  @ApiBody({ schema: CREATE_BODY as object })
  @Post('tokens')
  @HttpCode(201)
  async create(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.tokens.mint(checkInput<NewToken>(CREATE_BODY, body ?? {}), principal);
  }

  @ApiOperation({ summary: 'Revoke a token: 204; its open socket.io connections close within QUIRE_TOKEN_RECHECK_SECONDS (admin)' })
  @Delete('tokens/:id')
  @HttpCode(204)
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    await this.tokens.revoke(id, principal);
  }
}
