import type { MigrationInterface, QueryRunner } from 'typeorm';

// Durations learn from every outcome and per estimate key (BOOKS.md section 7): the history is
// keyed by (book, step, estimate_key, outcome); what it held so far were done runs without a key.
// Job steps keep what their estimate came from and how likely they are to run.
export class LearnedOutcomes1765400000000 implements MigrationInterface {
  name = 'LearnedOutcomes1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "step_duration_history" ADD "estimate_key" text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE "step_duration_history" ADD "outcome" text NOT NULL DEFAULT 'done'`);
    await q.query(`ALTER TABLE "step_duration_history" DROP CONSTRAINT "PK_a49e7e2a531db94a74d2cdec3f6"`);
    await q.query(
      `ALTER TABLE "step_duration_history" ADD CONSTRAINT "PK_ba3646a2410b5664ff83c6ab42c" PRIMARY KEY ("book_name", "step_name", "estimate_key", "outcome")`,
    );
    await q.query(`ALTER TABLE "job_steps" ADD "estimate_key" text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE "job_steps" ADD "estimate_runs" integer NOT NULL DEFAULT '0'`);
    await q.query(`ALTER TABLE "job_steps" ADD "estimate_p90" double precision`);
    await q.query(`ALTER TABLE "job_steps" ADD "run_chance" double precision NOT NULL DEFAULT '1'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "job_steps" DROP COLUMN "run_chance"`);
    await q.query(`ALTER TABLE "job_steps" DROP COLUMN "estimate_p90"`);
    await q.query(`ALTER TABLE "job_steps" DROP COLUMN "estimate_runs"`);
    await q.query(`ALTER TABLE "job_steps" DROP COLUMN "estimate_key"`);
    await q.query(`DELETE FROM "step_duration_history" WHERE "outcome" <> 'done' OR "estimate_key" <> ''`);
    await q.query(`ALTER TABLE "step_duration_history" DROP CONSTRAINT "PK_ba3646a2410b5664ff83c6ab42c"`);
    await q.query(
      `ALTER TABLE "step_duration_history" ADD CONSTRAINT "PK_a49e7e2a531db94a74d2cdec3f6" PRIMARY KEY ("book_name", "step_name")`,
    );
    await q.query(`ALTER TABLE "step_duration_history" DROP COLUMN "outcome"`);
    await q.query(`ALTER TABLE "step_duration_history" DROP COLUMN "estimate_key"`);
  }
}
