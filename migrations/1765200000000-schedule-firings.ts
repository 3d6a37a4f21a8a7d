import type { MigrationInterface, QueryRunner } from 'typeorm';

// Schedules fire: each keeps its last outcome (job, result, error), and every slot fired is
// recorded once per (schedule, fire time).
export class ScheduleFirings1765200000000 implements MigrationInterface {
  name = 'ScheduleFirings1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "schedules" ADD "last_job_id" uuid`);
    await q.query(`ALTER TABLE "schedules" ADD "last_result" text`);
    await q.query(`ALTER TABLE "schedules" ADD "last_error" text`);
    await q.query(
      `CREATE TABLE "schedule_firings" ("schedule_id" uuid NOT NULL, "fire_at" TIMESTAMP WITH TIME ZONE NOT NULL, "job_id" uuid, "result" text NOT NULL, "error" text, "date_created" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_schedule_firings" PRIMARY KEY ("schedule_id", "fire_at"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "schedule_firings"`);
    await q.query(`ALTER TABLE "schedules" DROP COLUMN "last_error"`);
    await q.query(`ALTER TABLE "schedules" DROP COLUMN "last_result"`);
    await q.query(`ALTER TABLE "schedules" DROP COLUMN "last_job_id"`);
  }
}
