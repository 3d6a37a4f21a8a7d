// Who is calling, and the one cluster-scope check. REST controllers, the socket.io gateway, the
// job service (triggers, trigger steps, chain links) and the scheduler all decide visibility
// here, so a scope rule changed once holds everywhere (issue 8: the replay leaked because the
// gateway's SQL did not apply the check its live path did).
import type { Role } from './api-token.entity.js';
import { ErrorCode, QuireError, notFound } from '../common/errors.js';

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** clusters this token may see; null: all */
  clusterIds: string[] | null;
}

/** The part of a principal that limits what work it may cause: stored on jobs so children inherit it. */
export type ClusterScope = string[] | null;

/** Whether a caller limited to `scope` may see a record of this cluster (records without a cluster: only unscoped callers). */
export function inScope(scope: ClusterScope, clusterId: string | null | undefined): boolean {
  if (scope === null) return true;
  return !!clusterId && scope.includes(clusterId);
}

/** Whether a principal may see a record of this cluster (records without a cluster: only unscoped tokens). */
export function maySee(principal: Principal, clusterId: string | null | undefined): boolean {
  return inScope(principal.clusterIds, clusterId);
}

/** The record, if the caller may see it; one it may not see is reported missing, as if it did not exist. */
export function visible<T>(principal: Principal | undefined, what: string, ref: string, record: T, clusterId: string | null): T {
  if (principal && !maySee(principal, clusterId)) throw notFound(what, ref);
  return record;
}

/**
 * The same check as SQL, for queries that hand out rows (event replay, listings): `column` is the
 * row's cluster id and `param` the placeholder bound to `scopeParam(principal)`. NULL binds as
 * "every cluster"; a scoped caller never sees rows without a cluster, as `maySee` says.
 */
export function scopeSql(column: string, param: string): string {
  return `(${param}::uuid[] IS NULL OR ${column} = ANY(${param}::uuid[]))`;
}

export function scopeParam(principal: Principal | undefined): string[] | null {
  return principal?.clusterIds ?? null;
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

export const describePrincipal = (p: Principal) => `token:${p.name}`;

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/**
 * For calls that reach every cluster at once (reloading books and inventory, global metrics):
 * unscoped tokens only. `why` says what makes the call global, for the 403's message.
 */
export function requireUnscoped(principal: Principal, why: string): void {
  if (principal.clusterIds !== null) throw new QuireError(ErrorCode.Forbidden, `${why}: this needs a token not limited to some clusters`);
}
