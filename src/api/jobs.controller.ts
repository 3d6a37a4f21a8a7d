import { Controller, Get, Param, Query } from '@nestjs/common';
import { JobsService } from '../jobs/jobs.service.js';
import { checkInput } from '../common/input.js';

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

@Controller('api/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  async list(@Query() query: Record<string, string>) {
    const q = checkInput<{ deployment?: string; state?: string; book?: string; limit?: string }>(LIST_QUERY, { ...query }, 'query');
    return { jobs: await this.jobs.list({ ...q, limit: q.limit ? Number(q.limit) : undefined }) };
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    return { job: await this.jobs.get(id) };
  }
}
