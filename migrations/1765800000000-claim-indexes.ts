import type { MigrationInterface, QueryRunner } from 'typeorm';

// The claim (src/engine/job-store.ts, CLAIM_SQL) reads the queue in order and tests each
// candidate's locks against the live jobs only: the GIN index holds the locks of the jobs that
// are queued or running (an ended job's entry is the empty array), the queue index only queued
// jobs, so both stay small however many jobs have ended. The GIN index is
// written without its pending list (fastupdate off): every claim searches it right after jobs
// change state, and a long pending list would be scanned by each search.
export class ClaimIndexes1765800000000 implements MigrationInterface {
  name = 'ClaimIndexes1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_jobs_live_locks" ON "jobs" USING gin ((CASE WHEN state IN ('scheduled', 'running') THEN locks ELSE '{}'::text[] END)) WITH (fastupdate = off)`);
    await q.query(`CREATE INDEX "idx_jobs_queue" ON "jobs" ("priority", "date_created", "id") WHERE state = 'scheduled'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."idx_jobs_queue"`);
    await q.query(`DROP INDEX "public"."idx_jobs_live_locks"`);
  }
}
