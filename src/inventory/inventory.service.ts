import { Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import { ClusterEntity } from './cluster.entity.js';
import { GroupEntity } from './group.entity.js';
import { DeploymentEntity } from './deployment.entity.js';
import type { Inventory } from '../books/inventory.types.js';
import { ErrorCode, QuireError, notFound } from '../common/errors.js';
import { isUuid } from '../common/input.js';
import { ACTIVE_JOB_STATES } from '../jobs/job-state.js';
import { visible, type Principal } from '../auth/principal.js';

export interface DeploymentTarget {
  deployment: DeploymentEntity | null;
  group: GroupEntity | null;
  cluster: ClusterEntity | null;
}

type Vars = Record<string, unknown>;

export interface DeploymentPageFilter {
  kind?: string;
  group_id?: string;
  cluster_id?: string;
  /** a token limited to some clusters sees only theirs */
  clusterIds?: string[] | null;
  cursor?: string;
  limit?: number;
}

/** `GET /api/deployments` pages: 100 by default, at most 1,000 (about 300 KiB of JSON). */
export const DEPLOYMENT_PAGE = { default: 100, max: 1000 };

/** Opaque to clients: the last name of the page, base64url (names are the keyset). */
function encodeNameCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function decodeNameCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  // Round trip and no control characters: PostgreSQL text refuses NUL, which would be a 500.
  if (!name || encodeNameCursor(name) !== cursor || [...name].some((ch) => ch.charCodeAt(0) < 0x20)) {
    throw new QuireError(ErrorCode.InvalidInput, `invalid cursor '${cursor}': pass the next_cursor of the page before`, [
      { field: 'cursor', message: 'not a cursor this API gave', value: cursor },
    ]);
  }
  return name;
}

// Clusters, deployment groups and deployments. Records are addressed by id or by name;
// group names are unique only within their cluster, so a bare group name must be unambiguous.
@Injectable()
export class InventoryService {
  constructor(private readonly dataSource: DataSource) {}

  private get clusters() {
    return this.dataSource.getRepository(ClusterEntity);
  }
  private get groups() {
    return this.dataSource.getRepository(GroupEntity);
  }
  private get deployments() {
    return this.dataSource.getRepository(DeploymentEntity);
  }

  listClusters() {
    return this.clusters.find({ order: { name: 'ASC' } });
  }

  async getCluster(ref: string): Promise<ClusterEntity> {
    const found = await this.clusters.findOneBy(isUuid(ref) ? { id: ref } : { name: ref });
    if (!found) throw notFound('cluster', ref);
    return found;
  }

  listGroups(clusterId?: string) {
    return this.groups.find({ where: clusterId ? { cluster_id: clusterId } : {}, order: { name: 'ASC' } });
  }

  /** By id, by `cluster/group`, or by a group name that only one cluster has. */
  async getGroup(ref: string): Promise<GroupEntity> {
    if (isUuid(ref)) {
      const found = await this.groups.findOneBy({ id: ref });
      if (!found) throw notFound('group', ref);
      return found;
    }
    const [clusterName, groupName] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
    const candidates = await this.groups.find({ where: { name: groupName }, relations: { cluster: true } });
    const matching = clusterName ? candidates.filter((g) => g.cluster?.name === clusterName) : candidates;
    if (matching.length === 0) throw notFound('group', ref);
    if (matching.length > 1) {
      throw new QuireError(
        ErrorCode.Conflict,
        `group name '${ref}' exists in several clusters (${matching.map((g) => g.cluster?.name).join(', ')}); address it as cluster/group or by id`,
      );
    }
    return matching[0]!;
  }

  listDeployments(filter: { kind?: string; group_id?: string; cluster_id?: string } = {}) {
    const where: Record<string, string> = {};
    for (const [key, value] of Object.entries(filter)) if (value) where[key] = value;
    return this.deployments.find({ where, order: { name: 'ASC' } });
  }

  /**
   * One page of deployments in name order, continuing after `cursor` (the page before's
   * `next_cursor`). Keyset on the unique name, so page 200 of 10,000 deployments costs what page
   * 1 does (an index range), and the clusters a token may see are filtered in SQL, not after
   * the page was cut (a scoped token would otherwise get short or empty pages).
   */
  async pageDeployments(filter: DeploymentPageFilter): Promise<{ deployments: DeploymentEntity[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(filter.limit ?? DEPLOYMENT_PAGE.default, 1), DEPLOYMENT_PAGE.max);
    const qb = this.deployments.createQueryBuilder('d');
    if (filter.kind) qb.andWhere('d.kind = :kind', { kind: filter.kind });
    if (filter.group_id) qb.andWhere('d.group_id = :group', { group: filter.group_id });
    if (filter.cluster_id) qb.andWhere('d.cluster_id = :cluster', { cluster: filter.cluster_id });
    if (filter.clusterIds) qb.andWhere('d.cluster_id = ANY(:clusters)', { clusters: filter.clusterIds });
    if (filter.cursor !== undefined) qb.andWhere('d.name > :after', { after: decodeNameCursor(filter.cursor) });
    // One row past the page says whether there is a next one, without a count.
    const rows = await qb
      .orderBy('d.name', 'ASC')
      .limit(limit + 1)
      .getMany();
    const more = rows.length > limit;
    const deployments = more ? rows.slice(0, limit) : rows;
    return { deployments, next_cursor: more ? encodeNameCursor(deployments.at(-1)!.name) : null };
  }

  /**
   * Every deployment of a group or cluster (optionally of one kind) that the caller may see, in
   * name order, each with its group and cluster: the targets of a fan-out trigger, read at once.
   */
  async deploymentTargetsIn(
    where: { group_id?: string; cluster_id?: string; kind?: string },
    clusterIds: string[] | null,
  ): Promise<(DeploymentTarget & { deployment: DeploymentEntity })[]> {
    const qb = this.deployments.createQueryBuilder('d');
    if (where.group_id) qb.andWhere('d.group_id = :group', { group: where.group_id });
    if (where.cluster_id) qb.andWhere('d.cluster_id = :cluster', { cluster: where.cluster_id });
    if (where.kind) qb.andWhere('d.kind = :kind', { kind: where.kind });
    if (clusterIds) qb.andWhere('d.cluster_id = ANY(:clusters)', { clusters: clusterIds });
    const deployments = await qb.orderBy('d.name', 'ASC').getMany();
    const groupIds = [...new Set(deployments.map((d) => d.group_id).filter((id): id is string => !!id))];
    const clusterIdsUsed = [...new Set(deployments.map((d) => d.cluster_id).filter((id): id is string => !!id))];
    const groups = new Map((groupIds.length ? await this.groups.findBy({ id: In(groupIds) }) : []).map((g) => [g.id, g]));
    const clusters = new Map((clusterIdsUsed.length ? await this.clusters.findBy({ id: In(clusterIdsUsed) }) : []).map((c) => [c.id, c]));
    return deployments.map((deployment) => {
      const group = deployment.group_id ? (groups.get(deployment.group_id) ?? null) : null;
      const clusterId = deployment.cluster_id ?? group?.cluster_id ?? null;
      return { deployment, group, cluster: clusterId ? (clusters.get(clusterId) ?? null) : null };
    });
  }

  async getDeployment(ref: string): Promise<DeploymentEntity> {
    const found = await this.deployments.findOneBy(isUuid(ref) ? { id: ref } : { name: ref });
    if (!found) throw notFound('deployment', ref);
    return found;
  }

  /** A deployment with the group and cluster it belongs to: the render context of its jobs. */
  async deploymentTarget(ref: string): Promise<DeploymentTarget & { deployment: DeploymentEntity }> {
    // One statement with its group and cluster joined, not three: every trigger starts here
    // (each statement a round trip; 20.5 of them per trigger before, bench/profile-trigger.mjs).
    // getOne, not findOne: findOne's implicit LIMIT with joins costs a second DISTINCT query.
    const found = await this.deployments
      .createQueryBuilder('d')
      .leftJoinAndSelect('d.group', 'g')
      .leftJoinAndSelect('g.cluster', 'gc')
      .leftJoinAndSelect('d.cluster', 'c')
      .where(isUuid(ref) ? 'd.id = :ref' : 'd.name = :ref', { ref })
      .getOne();
    if (!found) throw notFound('deployment', ref);
    const { group: joinedGroup, cluster: joinedCluster, ...deployment } = found;
    const { cluster: groupCluster, ...group } = joinedGroup ?? { cluster: null };
    // cluster_id is denormalised from the group; a row without it still finds its group's
    const cluster = joinedCluster ?? groupCluster ?? null;
    return { deployment: deployment as DeploymentEntity, group: joinedGroup ? (group as GroupEntity) : null, cluster };
  }

  async groupTarget(ref: string): Promise<DeploymentTarget & { group: GroupEntity }> {
    const group = await this.getGroup(ref);
    const cluster = await this.clusters.findOneBy({ id: group.cluster_id });
    return { deployment: null, group, cluster };
  }

  async clusterTarget(ref: string): Promise<DeploymentTarget & { cluster: ClusterEntity }> {
    return { deployment: null, group: null, cluster: await this.getCluster(ref) };
  }

  async createCluster(input: { name: string; vars?: Vars }, principal?: Principal): Promise<ClusterEntity> {
    if (principal?.clusterIds) throw new QuireError(ErrorCode.Forbidden, 'a token limited to some clusters cannot create clusters');
    const taken = `cluster '${input.name}' already exists`;
    await this.refuseDuplicate(this.clusters.existsBy({ name: input.name }), taken);
    return conflictOn(UNIQUE_VIOLATION, this.clusters.save({ name: input.name, vars: input.vars ?? {} }), taken);
  }

  async updateCluster(ref: string, input: { name?: string; vars?: Vars }, principal?: Principal): Promise<ClusterEntity> {
    const cluster = await this.getCluster(ref);
    visible(principal, 'cluster', ref, cluster, cluster.id);
    const taken = `cluster '${input.name}' already exists`;
    if (input.name && input.name !== cluster.name) await this.refuseDuplicate(this.clusters.existsBy({ name: input.name }), taken);
    return conflictOn(UNIQUE_VIOLATION, this.clusters.save({ ...cluster, ...input }), taken);
  }

  async deleteCluster(ref: string, principal?: Principal): Promise<void> {
    const cluster = await this.getCluster(ref);
    visible(principal, 'cluster', ref, cluster, cluster.id);
    const groups = await this.groups.countBy({ cluster_id: cluster.id });
    const deployments = await this.deployments.countBy({ cluster_id: cluster.id });
    const inUse = `cluster '${cluster.name}' still has ${groups} group(s) and ${deployments} deployment(s)`;
    if (groups + deployments > 0) throw new QuireError(ErrorCode.Conflict, inUse);
    await conflictOn(FOREIGN_KEY_VIOLATION, this.clusters.delete({ id: cluster.id }), inUse);
  }

  async createGroup(input: { name: string; cluster: string; vars?: Vars }, principal?: Principal): Promise<GroupEntity> {
    const cluster = await this.getCluster(input.cluster);
    visible(principal, 'cluster', input.cluster, cluster, cluster.id);
    const taken = `group '${input.name}' already exists in cluster '${cluster.name}'`;
    await this.refuseDuplicate(this.groups.existsBy({ cluster_id: cluster.id, name: input.name }), taken);
    return conflictOn(UNIQUE_VIOLATION, this.groups.save({ name: input.name, cluster_id: cluster.id, vars: input.vars ?? {} }), taken);
  }

  async updateGroup(ref: string, input: { name?: string; vars?: Vars }, principal?: Principal): Promise<GroupEntity> {
    const group = await this.getGroup(ref);
    visible(principal, 'group', ref, group, group.cluster_id);
    const taken = `group '${input.name}' already exists in its cluster`;
    if (input.name && input.name !== group.name) {
      await this.refuseDuplicate(this.groups.existsBy({ cluster_id: group.cluster_id, name: input.name }), taken);
    }
    const { cluster: _cluster, ...plain } = group;
    return conflictOn(UNIQUE_VIOLATION, this.groups.save({ ...plain, ...input }), taken);
  }

  async deleteGroup(ref: string, principal?: Principal): Promise<void> {
    const group = await this.getGroup(ref);
    visible(principal, 'group', ref, group, group.cluster_id);
    const deployments = await this.deployments.countBy({ group_id: group.id });
    const inUse = `group '${group.name}' still has ${deployments} deployment(s)`;
    if (deployments > 0) throw new QuireError(ErrorCode.Conflict, inUse);
    await conflictOn(FOREIGN_KEY_VIOLATION, this.groups.delete({ id: group.id }), inUse);
  }

  async createDeployment(
    input: { name: string; kind: string; vars?: Vars; group?: string; cluster?: string },
    principal?: Principal,
  ): Promise<DeploymentEntity> {
    const taken = `deployment '${input.name}' already exists`;
    await this.refuseDuplicate(this.deployments.existsBy({ name: input.name }), taken);
    const placement = await this.placement(input.group, input.cluster, principal);
    return conflictOn(
      UNIQUE_VIOLATION,
      this.deployments.save({ name: input.name, kind: input.kind, vars: input.vars ?? {}, ...placement }),
      taken,
    );
  }

  async updateDeployment(
    ref: string,
    input: { name?: string; kind?: string; vars?: Vars; group?: string; cluster?: string; state?: string },
    principal?: Principal,
  ): Promise<DeploymentEntity> {
    const deployment = await this.getDeployment(ref);
    visible(principal, 'deployment', ref, deployment, deployment.cluster_id);
    const taken = `deployment '${input.name}' already exists`;
    if (input.name && input.name !== deployment.name) await this.refuseDuplicate(this.deployments.existsBy({ name: input.name }), taken);
    const { group, cluster, ...fields } = input;
    const placement = group !== undefined || cluster !== undefined ? await this.placement(group, cluster, principal) : {};
    return conflictOn(UNIQUE_VIOLATION, this.deployments.save({ ...deployment, ...fields, ...placement }), taken);
  }

  async deleteDeployment(ref: string, principal?: Principal): Promise<void> {
    const deployment = await this.getDeployment(ref);
    visible(principal, 'deployment', ref, deployment, deployment.cluster_id);
    // The row lock orders this against a trigger storing a job for it (see JobsService.storeJob).
    await this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT 1 FROM deployments WHERE id = $1 FOR UPDATE`, [deployment.id]);
      const rows = (await manager.query(`SELECT count(*)::int AS count FROM jobs WHERE deployment_id = $1 AND state = ANY($2)`, [
        deployment.id,
        ACTIVE_JOB_STATES,
      ])) as { count: number }[];
      const count = rows[0]?.count ?? 0;
      if (count > 0) throw new QuireError(ErrorCode.Conflict, `deployment '${deployment.name}' has ${count} unfinished job(s)`);
      await manager.delete(DeploymentEntity, { id: deployment.id });
    });
  }

  /**
   * inventory.yaml: create what is missing, update `kind` and `vars` of what exists, by name.
   * One transaction: a broken inventory changes nothing.
   */
  async applyInventory(inventory: Inventory): Promise<{ created: number; updated: number }> {
    const counts = { created: 0, updated: 0 };
    await this.dataSource.transaction(async (manager) => {
      for (const c of inventory.clusters ?? []) {
        const cluster = await this.upsert(manager, ClusterEntity, { name: c.name }, { vars: c.vars ?? {} }, counts);
        for (const g of c.groups ?? []) {
          const group = await this.upsert(manager, GroupEntity, { cluster_id: cluster.id, name: g.name }, { vars: g.vars ?? {} }, counts);
          for (const d of g.deployments ?? []) {
            await this.upsert(
              manager,
              DeploymentEntity,
              { name: d.name },
              { kind: d.kind, vars: d.vars ?? {}, cluster_id: cluster.id, group_id: group.id },
              counts,
            );
          }
        }
      }
    });
    return counts;
  }

  private async upsert<T extends { id: string }>(
    manager: EntityManager,
    entity: new () => T,
    key: Partial<T>,
    fields: Partial<T>,
    counts: { created: number; updated: number },
  ): Promise<T> {
    const repo = manager.getRepository(entity);
    const existing = await repo.findOneBy(key as never);
    if (!existing) {
      counts.created++;
      return (await repo.save({ ...key, ...fields } as never)) as unknown as T;
    }
    const changed = Object.entries(fields).some(([k, v]) => JSON.stringify((existing as Record<string, unknown>)[k]) !== JSON.stringify(v));
    if (!changed) return existing;
    counts.updated++;
    await repo.update({ id: existing.id } as never, fields as never);
    return { ...existing, ...fields };
  }

  /** Where a deployment goes; a token limited to some clusters may only place it in one of them. */
  private async placement(
    groupRef: string | undefined,
    clusterRef: string | undefined,
    principal: Principal | undefined,
  ): Promise<{ group_id: string | null; cluster_id: string | null }> {
    const findGroup = async (ref: string) => this.getGroup(ref).then((g) => visible(principal, 'group', ref, g, g.cluster_id));
    const findCluster = async (ref: string) => this.getCluster(ref).then((c) => visible(principal, 'cluster', ref, c, c.id));
    if (groupRef && clusterRef && isUuid(groupRef)) {
      // a group by id needs no cluster to be found, but must be in the cluster named with it
      const [group, cluster] = [await findGroup(groupRef), await findCluster(clusterRef)];
      if (group.cluster_id !== cluster.id) {
        const actual = await this.clusters.findOneBy({ id: group.cluster_id });
        throw new QuireError(
          ErrorCode.Conflict,
          `group '${group.name}' is in cluster '${actual?.name ?? group.cluster_id}', not in '${cluster.name}'`,
        );
      }
      return { group_id: group.id, cluster_id: cluster.id };
    }
    if (groupRef) {
      const group = await findGroup(clusterRef ? `${clusterRef}/${groupRef}` : groupRef);
      return { group_id: group.id, cluster_id: group.cluster_id };
    }
    if (clusterRef) return { group_id: null, cluster_id: (await findCluster(clusterRef)).id };
    if (principal?.clusterIds)
      throw new QuireError(ErrorCode.Forbidden, 'a token limited to some clusters must place a deployment in one of them');
    return { group_id: null, cluster_id: null };
  }

  private async refuseDuplicate(exists: Promise<boolean>, message: string): Promise<void> {
    if (await exists) throw new QuireError(ErrorCode.Conflict, message);
  }
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * The checks before a write read first, so a concurrent write can still get in between: the
 * database's refusal (a name taken meanwhile, a child added meanwhile) is the same 409.
 */
async function conflictOn<T>(code: string, write: Promise<T>, message: string): Promise<T> {
  return write.catch((error: unknown) => {
    throw (error as { code?: string }).code === code ? new QuireError(ErrorCode.Conflict, message) : error;
  });
}
