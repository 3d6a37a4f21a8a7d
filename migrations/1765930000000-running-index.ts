import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 9: the claim counts running jobs per channel, and reads the steps of the jobs it
// claimed, through an index of the running jobs alone. Through idx_jobs_state_created it read,
// by bitmap, an entry for every job that had run since the last vacuum (each job's running
// version stays in the index until then): 2,016 entries and 320 heap pages per claim after
// 2,000 jobs. A plain scan of this small index skips the entries it found dead once.
// idx_jobs_claim served the claim before idx_jobs_queue (migration 1765800000000); nothing
// reads it now, and each claim and end paid for writing it.
export class RunningIndex1765930000000 implements MigrationInterface {
  name = 'RunningIndex1765930000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_jobs_running" ON "jobs" ("channel") WHERE state = 'running' AND lease_token IS NOT NULL`);
    await q.query(`DROP INDEX "public"."idx_jobs_claim"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_jobs_claim" ON "jobs" ("state", "priority", "date_created") `);
    await q.query(`DROP INDEX "public"."idx_jobs_running"`);
  }
}
