import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokenEntity, ROLES, type Role } from './api-token.entity.js';
import { ErrorCode, QuireError } from '../common/errors.js';

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** clusters this token may see; null: all */
  clusterIds: string[] | null;
}

/** Whether a principal may see a record of this cluster (records without a cluster: only unscoped tokens). */
export function maySee(principal: Principal, clusterId: string | null | undefined): boolean {
  if (principal.clusterIds === null) return true;
  return !!clusterId && principal.clusterIds.includes(clusterId);
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// Two nodes starting on an empty database must not both mint an admin token.
const FIRST_TOKEN_LOCK = 7_140_022;

@Injectable()
export class TokensService {
  private readonly logger = new Logger('Tokens');

  constructor(private readonly dataSource: DataSource) {}

  async create(name: string, role: Role, clusterIds: string[] | null = null): Promise<{ token: string; record: ApiTokenEntity }> {
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
    });
    return { token, record };
  }

  async verify(token: string): Promise<Principal | null> {
    const record = await this.dataSource
      .getRepository(ApiTokenEntity)
      .findOneBy({ token_hash: hashToken(token), revoked_at: IsNull() });
    if (!record) return null;
    return { tokenId: record.id, name: record.name, role: record.role, clusterIds: record.cluster_ids ?? null };
  }

  /** Of these token ids, those not revoked (nor deleted): one query for every open socket. */
  async stillValid(ids: string[]): Promise<Set<string>> {
    const rows = (await this.dataSource.query('SELECT id FROM api_tokens WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL', [ids])) as { id: string }[];
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
