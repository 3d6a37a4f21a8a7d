// Migrations in the order they run. The only way the schema changes (DESIGN.md).
import { InitialSchema1763800000000 } from './1763800000000-initial-schema.js';
import { IdempotencyScope1764600000000 } from './1764600000000-idempotency-scope.js';
import { ChainPending1764700000000 } from './1764700000000-chain-pending.js';
import { ScheduleFirings1765200000000 } from './1765200000000-schedule-firings.js';
import { JobScope1765000000000 } from './1765000000000-job-scope.js';
import { TokenExpiry1765000100000 } from './1765000100000-token-expiry.js';
import { Notifications1765300000000 } from './1765300000000-notifications.js';
import { JobRetention1765300000001 } from './1765300000001-job-retention.js';
import { LearnedOutcomes1765400000000 } from './1765400000000-learned-outcomes.js';
import { JobLinksActivity1765500000000 } from './1765500000000-job-links-activity.js';
import { ClaimIndexes1765800000000 } from './1765800000000-claim-indexes.js';
import { ListIndexes1765910000000 } from './1765910000000-list-indexes.js';
import { StepDurationSamples1765920000000 } from './1765920000000-step-duration-samples.js';
import { RunningIndex1765930000000 } from './1765930000000-running-index.js';

export const MIGRATIONS = [
  InitialSchema1763800000000,
  IdempotencyScope1764600000000,
  ChainPending1764700000000,
  ScheduleFirings1765200000000,
  JobScope1765000000000,
  TokenExpiry1765000100000,
  Notifications1765300000000,
  JobRetention1765300000001,
  LearnedOutcomes1765400000000,
  JobLinksActivity1765500000000,
  ClaimIndexes1765800000000,
  ListIndexes1765910000000,
  StepDurationSamples1765920000000,
  RunningIndex1765930000000,
];
