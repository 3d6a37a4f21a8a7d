import type { MigrationInterface, QueryRunner } from 'typeorm';

// A scoped token's authority follows the work it causes (issue 8 item 4): a job keeps the
// clusters of whoever triggered its root (NULL: unscoped), so its trigger steps and chain links
// are checked against them, and a refused chain link is kept on the job rather than only logged.
// The event index serves the replay of a scoped `all` subscription, filtered by cluster in SQL.
export class JobScope1765000000000 implements MigrationInterface {
  name = 'JobScope1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "jobs" ADD "scope_clusters" uuid array`);
    await q.query(`ALTER TABLE "jobs" ADD "chain_errors" jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`CREATE INDEX "idx_deploy_events_cluster" ON "deploy_events"  ("cluster_id", "seq") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."idx_deploy_events_cluster"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "chain_errors"`);
    await q.query(`ALTER TABLE "jobs" DROP COLUMN "scope_clusters"`);
  }
}
