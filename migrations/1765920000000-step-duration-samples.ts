import type { MigrationInterface, QueryRunner } from 'typeorm';

// Issue 9: what finished attempts teach is inserted here in the commit that ends them, and
// folded into step_duration_history in batches (see StepDurationSampleEntity for why).
export class StepDurationSamples1765920000000 implements MigrationInterface {
  name = 'StepDurationSamples1765920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "step_duration_samples" ("id" BIGSERIAL NOT NULL, "book_name" text NOT NULL, "step_name" text NOT NULL, "estimate_key" text NOT NULL DEFAULT '', "outcome" text NOT NULL, "value" double precision NOT NULL, CONSTRAINT "PK_96caceae79b50fa940de2c9ebb0" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "idx_step_duration_samples_book" ON "step_duration_samples" ("book_name", "id") `);
  }

  async down(q: QueryRunner): Promise<void> {
    // Nothing taught is lost going down: the samples not yet folded are folded first.
    await q.query(
      `INSERT INTO step_duration_history (book_name, step_name, estimate_key, outcome, samples, mean, recent)
       SELECT book_name, step_name, estimate_key, outcome, count(*), avg(value), (array_agg(value ORDER BY id))[greatest(1, count(*)::int - 49):]
       FROM step_duration_samples GROUP BY 1, 2, 3, 4
       ON CONFLICT (book_name, step_name, estimate_key, outcome) DO UPDATE SET
         mean = step_duration_history.mean + (EXCLUDED.mean - step_duration_history.mean) * EXCLUDED.samples / (step_duration_history.samples + EXCLUDED.samples),
         samples = step_duration_history.samples + EXCLUDED.samples,
         recent = (step_duration_history.recent || EXCLUDED.recent)[greatest(1, cardinality(step_duration_history.recent) + cardinality(EXCLUDED.recent) - 49):]`,
    );
    await q.query(`DROP INDEX "public"."idx_step_duration_samples_book"`);
    await q.query(`DROP TABLE "step_duration_samples"`);
  }
}
