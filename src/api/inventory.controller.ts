import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { DEPLOYMENT_PAGE, InventoryService } from '../inventory/inventory.service.js';
import { checkInput } from '../common/input.js';
import { CurrentPrincipal } from './principal.decorator.js';
import { maySee, visible, type Principal } from '../auth/principal.js';

const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' };
const VARS = { type: 'object' };
const STATE = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' };

const CLUSTER_CREATE = { type: 'object', properties: { name: NAME, vars: VARS }, required: ['name'], additionalProperties: false };
const CLUSTER_PATCH = { type: 'object', properties: { name: NAME, vars: VARS }, additionalProperties: false };
const GROUP_CREATE = {
  type: 'object',
  properties: { name: NAME, cluster: { type: 'string' }, vars: VARS },
  required: ['name', 'cluster'],
  additionalProperties: false,
};
const GROUP_PATCH = CLUSTER_PATCH;
const DEPLOYMENT_CREATE = {
  type: 'object',
  properties: { name: NAME, kind: NAME, vars: VARS, group: { type: 'string' }, cluster: { type: 'string' } },
  required: ['name', 'kind'],
  additionalProperties: false,
};
const DEPLOYMENT_PATCH = {
  type: 'object',
  properties: { name: NAME, kind: NAME, vars: VARS, group: { type: 'string' }, cluster: { type: 'string' }, state: STATE },
  additionalProperties: false,
};

const PAGE_QUERY = {
  type: 'object',
  properties: {
    cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,700}$' },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
  },
};

type Vars = Record<string, unknown>;

/** Query values that are present (a repeated parameter arrives as an array and is refused). */
function strip<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// Inventory CRUD: reads for every role, writes for admins (the guard's default for writes).
@ApiTags('inventory')
@Controller('api')
export class InventoryController {
  constructor(private readonly inventory: InventoryService) {}

  @Get('clusters')
  async listClusters(@CurrentPrincipal() principal: Principal) {
    return { clusters: (await this.inventory.listClusters()).filter((c) => maySee(principal, c.id)) };
  }
  private async visibleCluster(ref: string, principal: Principal) {
    const found = await this.inventory.getCluster(ref);
    return visible(principal, 'cluster', ref, found, found.id);
  }

  @Get('clusters/:ref')
  async getCluster(@Param('ref') ref: string, @CurrentPrincipal() principal: Principal) {
    const cluster = await this.visibleCluster(ref, principal);
    return { cluster: { ...cluster, groups: await this.inventory.listGroups(cluster.id) } };
  }
  @ApiBody({ schema: CLUSTER_CREATE as object })
  @Post('clusters')
  async createCluster(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return { cluster: await this.inventory.createCluster(checkInput<{ name: string; vars?: Vars }>(CLUSTER_CREATE, body), principal) };
  }
  @Patch('clusters/:ref')
  async updateCluster(@Param('ref') ref: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return { cluster: await this.inventory.updateCluster(ref, checkInput(CLUSTER_PATCH, body), principal) };
  }
  @Delete('clusters/:ref')
  @HttpCode(204)
  async deleteCluster(@Param('ref') ref: string, @CurrentPrincipal() principal: Principal) {
    await this.inventory.deleteCluster(ref, principal);
  }

  @Get('groups')
  async listGroups(@CurrentPrincipal() principal: Principal, @Query('cluster') cluster?: string) {
    // A filter naming a cluster the token may not see answers like one naming nothing: 404.
    const clusterId = cluster ? (await this.visibleCluster(cluster, principal)).id : undefined;
    return { groups: (await this.inventory.listGroups(clusterId)).filter((g) => maySee(principal, g.cluster_id)) };
  }
  @Get('groups/:ref')
  async getGroup(@Param('ref') ref: string, @CurrentPrincipal() principal: Principal) {
    const found = await this.inventory.getGroup(ref);
    const group = visible(principal, 'group', ref, found, found.cluster_id);
    return { group: { ...group, deployments: await this.inventory.listDeployments({ group_id: group.id }) } };
  }
  @ApiBody({ schema: GROUP_CREATE as object })
  @Post('groups')
  async createGroup(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return {
      group: await this.inventory.createGroup(checkInput<{ name: string; cluster: string; vars?: Vars }>(GROUP_CREATE, body), principal),
    };
  }
  @Patch('groups/:ref')
  async updateGroup(@Param('ref') ref: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return { group: await this.inventory.updateGroup(ref, checkInput(GROUP_PATCH, body), principal) };
  }
  @Delete('groups/:ref')
  @HttpCode(204)
  async deleteGroup(@Param('ref') ref: string, @CurrentPrincipal() principal: Principal) {
    await this.inventory.deleteGroup(ref, principal);
  }

  @ApiOperation({
    summary: 'One page of deployments in name order: { deployments, next_cursor }; pass next_cursor as cursor for the next page',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    description: `deployments per page: default ${DEPLOYMENT_PAGE.default}, at most ${DEPLOYMENT_PAGE.max}`,
  })
  @ApiQuery({ name: 'cursor', required: false, description: 'the next_cursor of the page before; absent: the first page' })
  @Get('deployments')
  async listDeployments(
    @CurrentPrincipal() principal: Principal,
    @Query('kind') kind?: string,
    @Query('group') group?: string,
    @Query('cluster') cluster?: string,
    @Query('cursor') cursor?: string,
    @Query('limit') limit?: string,
  ) {
    const paging = checkInput<{ cursor?: string; limit?: string }>(PAGE_QUERY, strip({ cursor, limit }), 'query');
    const group_id = group
      ? await this.inventory.getGroup(group).then((g) => visible(principal, 'group', group, g, g.cluster_id).id)
      : undefined;
    const cluster_id = cluster ? (await this.visibleCluster(cluster, principal)).id : undefined;
    return this.inventory.pageDeployments({
      kind,
      group_id,
      cluster_id,
      clusterIds: principal.clusterIds,
      cursor: paging.cursor,
      limit: paging.limit === undefined ? undefined : Number(paging.limit),
    });
  }
  @Get('deployments/:ref')
  async getDeployment(@Param('ref') ref: string, @CurrentPrincipal() principal: Principal) {
    const deployment = await this.inventory.getDeployment(ref);
    return { deployment: visible(principal, 'deployment', ref, deployment, deployment.cluster_id) };
  }
  @ApiBody({ schema: DEPLOYMENT_CREATE as object })
  @Post('deployments')
  async createDeployment(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return {
      deployment: await this.inventory.createDeployment(
        checkInput<{ name: string; kind: string; vars?: Vars; group?: string; cluster?: string }>(DEPLOYMENT_CREATE, body),
        principal,
      ),
    };
  }
  @ApiBody({ schema: DEPLOYMENT_PATCH as object })
  @Patch('deployments/:ref')
  async updateDeployment(@Param('ref') ref: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return { deployment: await this.inventory.updateDeployment(ref, checkInput(DEPLOYMENT_PATCH, body), principal) };
  }
  @Delete('deployments/:ref')
  @HttpCode(204)
  async deleteDeployment(@Param('ref') ref: string, @CurrentPrincipal() principal: Principal) {
    await this.inventory.deleteDeployment(ref, principal);
  }
}
