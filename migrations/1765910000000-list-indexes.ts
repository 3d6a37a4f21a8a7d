import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 9, the fleet scenario: the lists page by keyset, each page an index range. Measured with
// 10,000 jobs (bench/fleet.mjs): `GET /api/jobs` read every job and sorted them (seq scan and
// top-N sort, 12 ms in PostgreSQL, growing with the table); with idx_jobs_created it reads the
// page's rows only. idx_jobs_state_created serves the state filter the portal's jobs view uses
// (running, error) without walking the jobs of other states. The deployment indexes serve
// `GET /api/deployments?cluster=` / `?group=` in name order. No more than these: every index on
// jobs is written again on each state change (state is indexed, so no update is HOT).
export class ListIndexes1765910000000 implements MigrationInterface {
  name = 'ListIndexes1765910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_jobs_created" ON "jobs" ("date_created", "id") `);
    await q.query(`CREATE INDEX "idx_jobs_state_created" ON "jobs" ("state", "date_created", "id") `);
    await q.query(`CREATE INDEX "idx_deployments_cluster_name" ON "deployments" ("cluster_id", "name") `);
    await q.query(`CREATE INDEX "idx_deployments_group_name" ON "deployments" ("group_id", "name") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."idx_deployments_group_name"`);
    await q.query(`DROP INDEX "public"."idx_deployments_cluster_name"`);
    await q.query(`DROP INDEX "public"."idx_jobs_state_created"`);
    await q.query(`DROP INDEX "public"."idx_jobs_created"`);
  }
}
