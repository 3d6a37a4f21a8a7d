import type { MigrationInterface, QueryRunner } from 'typeorm';

// A job's on_success/on_failure links are owed from the commit that ends it until the jobs they
// create exist: a worker that dies in between leaves the flag set, and a sweep triggers them.
export class ChainPending1764700000000 implements MigrationInterface {
  name = 'ChainPending1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "jobs" ADD "chain_pending" boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE INDEX "idx_jobs_chain_pending" ON "jobs"  ("date_done") WHERE chain_pending`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."idx_jobs_chain_pending"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "chain_pending"`);
  }
}
