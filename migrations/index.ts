// Migrations in the order they run. The only way the schema changes (DESIGN.md).
import { InitialSchema1763800000000 } from './1763800000000-initial-schema.js';
import { IdempotencyScope1764600000000 } from './1764600000000-idempotency-scope.js';
import { ChainPending1764700000000 } from './1764700000000-chain-pending.js';
import { ScheduleFirings1765200000000 } from './1765200000000-schedule-firings.js';
import { ClaimIndexes1765800000000 } from './1765800000000-claim-indexes.js';

export const MIGRATIONS = [InitialSchema1763800000000, IdempotencyScope1764600000000, ChainPending1764700000000, ScheduleFirings1765200000000, ClaimIndexes1765800000000];
