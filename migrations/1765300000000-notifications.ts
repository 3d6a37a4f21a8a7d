import type { MigrationInterface, QueryRunner } from 'typeorm';

// Notification deliveries owed by a job's end (BOOKS.md section 9): one row per `notify` entry
// whose `on` matched, per ending of the job, written in the transaction that ends it; senders on
// every node claim the due ones. Rows go with their job (retention).
export class Notifications1765300000000 implements MigrationInterface {
  name = 'Notifications1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "notification_deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "job_id" uuid NOT NULL, "job_ended_at" TIMESTAMP WITH TIME ZONE NOT NULL, "entry_index" integer NOT NULL, "channel" text NOT NULL, "target" text NOT NULL, "secret_name" text, "outcome" text NOT NULL, "payload" jsonb NOT NULL, "output_tail" text, "state" text NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "last_error" text, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "locked_by" text, "date_created" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "date_sent" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_notification_deliveries" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE UNIQUE INDEX "uq_notification_deliveries_ending" ON "notification_deliveries"  ("job_id", "job_ended_at", "entry_index") `,
    );
    await q.query(`CREATE INDEX "idx_notification_deliveries_due" ON "notification_deliveries"  ("next_attempt_at") WHERE state = 'pending'`);
    await q.query(
      `ALTER TABLE "notification_deliveries" ADD CONSTRAINT "FK_notification_deliveries_job" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "notification_deliveries"`);
  }
}
