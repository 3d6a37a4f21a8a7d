import type { MigrationInterface, QueryRunner } from 'typeorm';

// The retention sweep looks for finished jobs by when they ended.
export class JobRetention1765300000001 implements MigrationInterface {
  name = 'JobRetention1765300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_jobs_date_done" ON "jobs"  ("date_done") WHERE date_done IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_jobs_date_done"`);
  }
}
