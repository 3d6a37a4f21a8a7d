import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 10: who did what to a job (job_activity), and the indexes that make a job's parent and
// children, a deployment's last state-setting job and the fleet view one indexed read each.
export class JobLinksActivity1765500000000 implements MigrationInterface {
  name = 'JobLinksActivity1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "job_activity" ("id" BIGSERIAL NOT NULL, "job_id" uuid NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "by" text NOT NULL, "what" text NOT NULL, "step" text, "note" text, CONSTRAINT "PK_job_activity" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "idx_job_activity_job" ON "job_activity" ("job_id", "at")`);
    await q.query(`CREATE INDEX "idx_jobs_parent" ON "jobs" ("parent_job_id") WHERE parent_job_id IS NOT NULL`);
    await q.query(`CREATE INDEX "idx_jobs_triggered_by_job" ON "jobs" ("triggered_by") WHERE triggered_by LIKE 'job:%'`);
    await q.query(
      `CREATE INDEX "idx_jobs_state_setter" ON "jobs" ("deployment_id", "date_done") WHERE state = 'done' AND sets_state IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_jobs_state_setter"`);
    await q.query(`DROP INDEX "idx_jobs_triggered_by_job"`);
    await q.query(`DROP INDEX "idx_jobs_parent"`);
    await q.query(`DROP TABLE "job_activity"`);
  }
}
