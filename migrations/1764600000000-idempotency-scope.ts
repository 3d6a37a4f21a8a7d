import type { MigrationInterface, QueryRunner } from 'typeorm';

// Idempotency-Keys belong to the API token that sent them: one token's key can neither replay
// nor block another's. Keys stored before this have no known owner; they are set apart under
// 'unscoped', so they never match a new request (a retry across the upgrade creates a job).
export class IdempotencyScope1764600000000 implements MigrationInterface {
  name = 'IdempotencyScope1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."uq_jobs_idempotency_key"`);
    await q.query(`ALTER TABLE "jobs" ADD "idempotency_scope" text`);
    await q.query(`UPDATE "jobs" SET "idempotency_scope" = 'unscoped' WHERE "idempotency_key" IS NOT NULL`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_jobs_idempotency_scope_key" ON "jobs"  ("idempotency_scope", "idempotency_key") WHERE idempotency_key IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."uq_jobs_idempotency_scope_key"`);
    // the old index allows each key once: keep the oldest job's key where tokens shared one
    await q.query(
      `UPDATE "jobs" j SET "idempotency_key" = NULL WHERE "idempotency_key" IS NOT NULL AND EXISTS (
         SELECT 1 FROM "jobs" o WHERE o."idempotency_key" = j."idempotency_key" AND (o."date_created", o."id") < (j."date_created", j."id"))`,
    );
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "idempotency_scope"`);
    await q.query(`CREATE UNIQUE INDEX "uq_jobs_idempotency_key" ON "jobs"  ("idempotency_key") WHERE idempotency_key IS NOT NULL`);
  }
}
