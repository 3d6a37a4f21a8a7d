import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ApiTokenEntity, ROLES, type Role } from './api-token.entity.js';
import { ErrorCode, QuireError, notFound, type ErrorDetail } from '../common/errors.js';
import { isUuid } from '../common/input.js';
import type { Principal } from './principal.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// Two nodes starting on an empty database must not both mint an admin token.
const FIRST_TOKEN_LOCK = 7_140_022;

/** A token as the API lists it: never its secret nor its hash. */
export interface TokenView {
  id: string;
  name: string;
  role: Role;
  /** the first characters of the secret, to tell tokens apart */
  prefix: string;
  /** the clusters it is limited to; null: every cluster */
  clusters: { id: string; name: string }[] | null;
  expires_at: string | null;
  date_created: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface NewToken {
  name: string;
  role: Role;
  /** cluster names or ids; absent: every cluster */
  clusters?: string[];
  /** ISO 8601 date-time in the future */
  expires_at?: string;
}

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  cluster_ids: string[] | null;
  clusters: { id: string; name: string }[] | null;
  expires_at: Date | null;
  date_created: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

// Tokens: minted, listed, revoked and checked here; the REST controller, the CLI (without a
// server) and the socket.io gateway are adapters over this. A token is valid while it is
// neither revoked nor past its `expires_at`, checked by the database's clock on every use.
@Injectable()
export class TokensService {
  private readonly logger = new Logger('Tokens');

  constructor(private readonly dataSource: DataSource) {}

  /** Mints a token with cluster ids already resolved (tests, the first start). */
  async create(
    name: string,
    role: Role,
    clusterIds: string[] | null = null,
    expiresAt: Date | null = null,
  ): Promise<{ token: string; record: ApiTokenEntity }> {
    if (!ROLES.includes(role)) {
      throw new QuireError(ErrorCode.InvalidInput, `role must be one of ${ROLES.join(', ')} (got '${role}')`, [
        { field: 'role', message: 'unknown role', value: role },
      ]);
    }
    const token = `qr_${randomBytes(32).toString('base64url')}`;
    const record = await this.dataSource.getRepository(ApiTokenEntity).save({
      name,
      role,
      token_hash: hashToken(token),
      prefix: token.slice(0, 8),
      cluster_ids: clusterIds,
      expires_at: expiresAt,
    });
    return { token, record };
  }

  /**
   * Mints a token as `by` asks (its shape already checked): clusters by name or id, an expiry in
   * the future. A scoped caller may not mint a token wider than itself: it must name clusters,
   * and a cluster outside its own reads like one that does not exist. The secret is returned
   * once; only its hash is kept.
   */
  async mint(input: NewToken, by?: Principal): Promise<{ token: TokenView; secret: string }> {
    const problems: ErrorDetail[] = [];
    if (!input.name.trim()) problems.push({ field: 'name', message: 'name: must not be empty' });
    let expiresAt: Date | null = null;
    if (input.expires_at !== undefined) {
      expiresAt = new Date(input.expires_at);
      if (
        !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(input.expires_at) ||
        Number.isNaN(expiresAt.getTime())
      ) {
        problems.push({
          field: 'expires_at',
          message: `expires_at: must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z (got '${input.expires_at}')`,
          value: input.expires_at,
        });
      } else if (expiresAt.getTime() <= Date.now()) {
        problems.push({
          field: 'expires_at',
          message: `expires_at: must be in the future (got '${input.expires_at}')`,
          value: input.expires_at,
        });
      }
    }
    let clusterIds: string[] | null = null;
    if (input.clusters !== undefined) {
      clusterIds = [];
      for (const [i, ref] of input.clusters.entries()) {
        const rows = (await this.dataSource.query(`SELECT id FROM clusters WHERE ${isUuid(ref) ? 'id' : 'name'} = $1`, [ref])) as {
          id: string;
        }[];
        const id = rows[0]?.id;
        if (!id || (by?.clusterIds && !by.clusterIds.includes(id))) {
          problems.push({ field: `clusters[${i}]`, message: `clusters[${i}]: cluster '${ref}' not found`, value: ref });
        } else if (!clusterIds.includes(id)) clusterIds.push(id);
      }
    }
    if (problems.length)
      throw new QuireError(ErrorCode.InvalidInput, `invalid token: ${problems.map((p) => p.message).join('; ')}`, problems);
    if (by?.clusterIds && clusterIds === null) {
      throw new QuireError(
        ErrorCode.Forbidden,
        'a token limited to some clusters cannot mint one wider than itself: name its clusters in `clusters`',
      );
    }
    const { token, record } = await this.create(input.name.trim(), input.role, clusterIds, expiresAt);
    return { token: (await this.views({ id: record.id }))[0]!, secret: token };
  }

  /** Tokens `by` may manage: all for an unscoped caller; for a scoped one, those limited to clusters of its own. */
  async list(by?: Principal): Promise<TokenView[]> {
    return this.views({ within: by?.clusterIds ?? null });
  }

  /** Revokes a token (again is fine); one the caller may not manage reads as missing. */
  async revoke(id: string, by?: Principal): Promise<TokenView> {
    const [token] = isUuid(id) ? await this.views({ id, within: by?.clusterIds ?? null }) : [];
    if (!token) throw notFound('token', id);
    await this.dataSource.query('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1', [id]);
    return (await this.views({ id }))[0]!;
  }

  /** Who a principal is, as `GET /api/me` answers: cluster names, not ids. */
  async describe(principal: Principal): Promise<{ name: string; role: Role; clusters: string[] | null; expires_at: string | null }> {
    const [view] = await this.views({ id: principal.tokenId });
    return {
      name: principal.name,
      role: principal.role,
      clusters: view?.clusters ? view.clusters.map((c) => c.name) : null,
      expires_at: view?.expires_at ?? null,
    };
  }

  private async views(filter: { id?: string; within?: string[] | null }): Promise<TokenView[]> {
    const rows = (await this.dataSource.query(
      `SELECT t.id, t.name, t.role, t.prefix, t.cluster_ids, t.expires_at, t.date_created, t.last_used_at, t.revoked_at,
              (SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.name) FROM clusters c WHERE c.id = ANY(t.cluster_ids)) AS clusters
         FROM api_tokens t
        WHERE ($1::uuid IS NULL OR t.id = $1)
          AND ($2::uuid[] IS NULL OR (t.cluster_ids IS NOT NULL AND t.cluster_ids <@ $2::uuid[]))
        ORDER BY t.date_created, t.id`,
      [filter.id ?? null, filter.within ?? null],
    )) as TokenRow[];
    const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      prefix: r.prefix,
      // A token whose clusters were all deleted stays limited (to nothing), never widened.
      clusters: r.cluster_ids === null ? null : (r.clusters ?? []),
      expires_at: iso(r.expires_at),
      date_created: iso(r.date_created)!,
      last_used_at: iso(r.last_used_at),
      revoked_at: iso(r.revoked_at),
    }));
  }

  async verify(token: string): Promise<Principal | null> {
    const rows = (await this.dataSource.query(
      `SELECT id, name, role, cluster_ids FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hashToken(token)],
    )) as { id: string; name: string; role: Role; cluster_ids: string[] | null }[];
    const record = rows[0];
    if (!record) return null;
    return { tokenId: record.id, name: record.name, role: record.role, clusterIds: record.cluster_ids ?? null };
  }

  /** Of these token ids, those neither revoked, expired nor deleted: one query for every open socket. */
  async stillValid(ids: string[]): Promise<Set<string>> {
    const rows = (await this.dataSource.query(
      'SELECT id FROM api_tokens WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())',
      [ids],
    )) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  /**
   * First start on an empty database: create an admin token, print it once, and keep it in
   * `<dataDir>/admin-token` readable by its owner only. Only its hash reaches the database.
   */
  async ensureAdminToken(dataDir: string): Promise<string | null> {
    const token = await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [FIRST_TOKEN_LOCK]);
      if ((await manager.getRepository(ApiTokenEntity).count()) > 0) return null;
      const value = `qr_${randomBytes(32).toString('base64url')}`;
      await manager.getRepository(ApiTokenEntity).save({
        name: 'initial admin',
        role: 'admin' as Role,
        token_hash: hashToken(value),
        prefix: value.slice(0, 8),
      });
      return value;
    });
    if (!token) return null;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, 'admin-token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    // Printed on stdout on purpose (DESIGN.md): the operator needs it once to sign in.
    process.stdout.write(`admin token: ${token}\n`);
    this.logger.log(`created the first admin token, also written to ${file}`);
    return token;
  }
}
