import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { BooksService } from '../books/books.service.js';
import { JobsService, type Scope } from '../jobs/jobs.service.js';
import { RequireRole } from './auth.decorators.js';
import { CurrentPrincipal, describePrincipal } from './principal.decorator.js';
import { requireUnscoped, type Principal } from '../auth/principal.js';
import { checkInput } from '../common/input.js';
import { formatProblem } from '../books/problem.js';
import type { BookVersionEntity } from '../books/book-version.entity.js';

const PLAN_BODY = {
  type: 'object',
  properties: {
    deployment: { type: 'string', minLength: 1 },
    group: { type: 'string', minLength: 1 },
    cluster: { type: 'string', minLength: 1 },
    action: { type: 'string', minLength: 1 },
    params: { type: 'object' },
  },
  required: ['action'],
  oneOf: [{ required: ['deployment'] }, { required: ['group'] }, { required: ['cluster'] }],
  additionalProperties: false,
};

const VALIDATE_BODY = {
  type: 'object',
  properties: { source: { type: 'string' }, file: { type: 'string' } },
  required: ['source'],
  additionalProperties: false,
};

const summary = (v: BookVersionEntity) => ({
  name: v.name,
  description: v.definition.description ?? null,
  kind: v.kind,
  action: v.action,
  scope: v.scope,
  version: v.author_version,
  hash: v.hash,
  file: v.file,
  params: v.definition.params ?? null,
  allowed_from: v.definition.allowed_from ?? null,
  sets_state: v.definition.sets_state ?? null,
  confirm: v.definition.confirm ?? false,
  steps: v.definition.steps.map((s) => ({ name: s.name, kind: s.kind, description: s.description ?? null })),
  schedules: v.definition.schedules ?? [],
  date_loaded: v.date_created,
});

@ApiTags('books')
@Controller('api/books')
export class BooksController {
  constructor(
    private readonly books: BooksService,
    private readonly jobs: JobsService,
  ) {}

  @Get()
  async list() {
    return { books: (await this.books.list()).map(summary) };
  }

  @Get(':name')
  async get(@Param('name') name: string) {
    const version = await this.books.get(name);
    return { book: { ...summary(version), definition: version.definition, source: version.source, versions: await this.books.history(name) } };
  }

  /** YAML in (as text/yaml, or JSON `{source, file}`), every problem out with line and column. */
  @ApiOperation({ summary: 'Validate YAML (text/yaml body, or JSON {source, file}): every problem with line and column' })
  @ApiBody({ schema: VALIDATE_BODY as object })
  @Post('validate')
  @HttpCode(200)
  @RequireRole('viewer')
  async validate(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const input =
      typeof body === 'string' ? { source: body, file: 'book.yaml' } : checkInput<{ source: string; file?: string }>(VALIDATE_BODY, body);
    const result = await this.books.validate(input.source, input.file ?? 'book.yaml', principal.tokenId);
    return {
      valid: result.valid,
      problems: result.problems,
      messages: result.problems.map(formatProblem),
      book: result.book ? { name: result.book.name, kind: result.book.kind, action: result.book.action } : null,
    };
  }

  @ApiOperation({ summary: 'Dry run: the job an action would create, nothing stored' })
  @ApiBody({ schema: PLAN_BODY as object })
  @Post('plan')
  @HttpCode(200)
  @RequireRole('viewer')
  async plan(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const input = checkInput<{ deployment?: string; group?: string; cluster?: string; action: string; params?: object }>(PLAN_BODY, body);
    const scope: Scope = input.deployment ? 'deployment' : input.group ? 'group' : 'cluster';
    const target = (input.deployment ?? input.group ?? input.cluster)!;
    return {
      plan: await this.jobs.plan({ scope, target, action: input.action, params: input.params, triggeredBy: describePrincipal(principal), principal }),
    };
  }

  @ApiOperation({ summary: 'Reload the books directory and inventory.yaml (admin)' })
  @Post('reload')
  @HttpCode(200)
  async reload(@CurrentPrincipal() principal: Principal) {
    // inventory.yaml resets every cluster's deployment vars: not for a token limited to some.
    requireUnscoped(principal, 'reloading books and inventory.yaml changes every cluster');
    const result = await this.books.reload();
    return { ...result, messages: result.problems.map(formatProblem) };
  }
}
