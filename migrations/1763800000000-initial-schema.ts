import type { MigrationInterface, QueryRunner } from 'typeorm';

// The first schema: inventory, book versions, jobs and their steps, duration history,
// events, schedules and API tokens. Generated from the entities by TypeORM's schema builder
// and kept verbatim so `quire migrate --check` finds no drift.
export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query("CREATE TABLE \"clusters\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" text NOT NULL, \"vars\" jsonb NOT NULL DEFAULT '{}', \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"date_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_9866753a0c6ffd4adebb5cc236b\" UNIQUE (\"name\"), CONSTRAINT \"PK_56c8e201f375e1e961dcdd6831c\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE TABLE \"deployment_groups\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"cluster_id\" uuid NOT NULL, \"name\" text NOT NULL, \"vars\" jsonb NOT NULL DEFAULT '{}', \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"date_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_4c97aff7c1ce821bf35edc5a4a8\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE UNIQUE INDEX \"uq_deployment_groups_cluster_name\" ON \"deployment_groups\"  (\"cluster_id\", \"name\") ");
    await q.query("CREATE TABLE \"deployments\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" text NOT NULL, \"kind\" text NOT NULL, \"vars\" jsonb NOT NULL DEFAULT '{}', \"state\" text NOT NULL DEFAULT 'draft', \"last_error\" text, \"group_id\" uuid, \"cluster_id\" uuid, \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"date_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"UQ_a25006350a8f794b8218cb01b55\" UNIQUE (\"name\"), CONSTRAINT \"PK_1e5627acb3c950deb83fe98fc48\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE INDEX \"idx_deployments_kind\" ON \"deployments\"  (\"kind\") ");
    await q.query("CREATE TABLE \"book_versions\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" text NOT NULL, \"kind\" text NOT NULL, \"action\" text NOT NULL, \"scope\" text NOT NULL DEFAULT 'deployment', \"hash\" text NOT NULL, \"author_version\" text, \"file\" text NOT NULL, \"source\" text NOT NULL, \"definition\" jsonb NOT NULL, \"is_current\" boolean NOT NULL DEFAULT true, \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_51c3d2c202434febf53cf0325b9\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE INDEX \"idx_book_versions_kind_action\" ON \"book_versions\"  (\"kind\", \"action\") ");
    await q.query("CREATE UNIQUE INDEX \"uq_book_versions_current_name\" ON \"book_versions\"  (\"name\") WHERE is_current");
    await q.query("CREATE UNIQUE INDEX \"uq_book_versions_name_hash\" ON \"book_versions\"  (\"name\", \"hash\") ");
    await q.query("CREATE TABLE \"jobs\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"book_version_id\" uuid NOT NULL, \"book_name\" text NOT NULL, \"kind\" text NOT NULL, \"action\" text NOT NULL, \"scope\" text NOT NULL DEFAULT 'deployment', \"deployment_id\" uuid, \"group_id\" uuid, \"cluster_id\" uuid, \"state\" text NOT NULL, \"priority\" smallint NOT NULL DEFAULT '2', \"channel\" text NOT NULL DEFAULT 'default', \"locks\" text array NOT NULL DEFAULT '{}', \"params\" jsonb NOT NULL DEFAULT '{}', \"context\" jsonb NOT NULL, \"triggered_by\" text NOT NULL, \"idempotency_key\" text, \"request_hash\" text, \"dedupe_key\" text, \"parent_job_id\" uuid, \"sets_state\" text, \"on_success\" jsonb NOT NULL DEFAULT '[]', \"on_failure\" jsonb NOT NULL DEFAULT '[]', \"should_notify\" boolean NOT NULL DEFAULT false, \"notify\" jsonb NOT NULL DEFAULT '[]', \"skip_reason\" text, \"error\" text, \"run_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"lease_token\" uuid, \"lease_expires_at\" TIMESTAMP WITH TIME ZONE, \"locked_by\" text, \"cancel_requested\" boolean NOT NULL DEFAULT false, \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"date_scheduled\" TIMESTAMP WITH TIME ZONE, \"date_running\" TIMESTAMP WITH TIME ZONE, \"date_done\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"PK_cf0a6c42b72fcc7f7c237def345\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE UNIQUE INDEX \"uq_jobs_idempotency_key\" ON \"jobs\"  (\"idempotency_key\") WHERE idempotency_key IS NOT NULL");
    await q.query("CREATE UNIQUE INDEX \"uq_jobs_dedupe_key\" ON \"jobs\"  (\"dedupe_key\") WHERE dedupe_key IS NOT NULL AND state IN ('draft', 'scheduled', 'running')");
    await q.query("CREATE INDEX \"idx_jobs_deployment\" ON \"jobs\"  (\"deployment_id\", \"date_created\") ");
    await q.query("CREATE INDEX \"idx_jobs_claim\" ON \"jobs\"  (\"state\", \"priority\", \"date_created\") ");
    await q.query("CREATE TABLE \"job_steps\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"job_id\" uuid NOT NULL, \"position\" integer NOT NULL, \"name\" text NOT NULL, \"kind\" text NOT NULL, \"description\" text, \"spec\" jsonb NOT NULL, \"data\" jsonb NOT NULL DEFAULT '{}', \"state\" text NOT NULL DEFAULT 'pending', \"attempt\" integer NOT NULL DEFAULT '0', \"interruptions\" integer NOT NULL DEFAULT '0', \"retry\" jsonb NOT NULL, \"on_failure\" text NOT NULL DEFAULT 'fail', \"estimated_duration\" double precision NOT NULL, \"estimate_source\" text NOT NULL DEFAULT 'book', \"timeout\" double precision NOT NULL, \"date_started\" TIMESTAMP WITH TIME ZONE, \"date_finished\" TIMESTAMP WITH TIME ZONE, \"duration\" double precision, \"output\" text NOT NULL DEFAULT '', \"output_bytes\" bigint NOT NULL DEFAULT '0', \"outputs\" jsonb NOT NULL DEFAULT '{}', \"error\" text, \"errors\" jsonb NOT NULL DEFAULT '[]', \"resolution\" jsonb, CONSTRAINT \"PK_ebdfb3c48184f79953b6a62e14c\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE UNIQUE INDEX \"uq_job_steps_job_position\" ON \"job_steps\"  (\"job_id\", \"position\") ");
    await q.query("CREATE TABLE \"step_duration_history\" (\"book_name\" text NOT NULL, \"step_name\" text NOT NULL, \"samples\" integer NOT NULL DEFAULT '0', \"mean\" double precision NOT NULL DEFAULT '0', \"recent\" double precision array NOT NULL DEFAULT '{}', \"date_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_a49e7e2a531db94a74d2cdec3f6\" PRIMARY KEY (\"book_name\", \"step_name\"))");
    await q.query("CREATE TABLE \"deploy_events\" (\"seq\" BIGSERIAL NOT NULL, \"type\" text NOT NULL, \"job_id\" uuid, \"step_id\" uuid, \"deployment_id\" uuid, \"group_id\" uuid, \"cluster_id\" uuid, \"payload\" jsonb NOT NULL DEFAULT '{}', \"at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_a4cd902fca30abea3ca4bea2cd7\" PRIMARY KEY (\"seq\"))");
    await q.query("CREATE INDEX \"idx_deploy_events_at\" ON \"deploy_events\"  (\"at\") ");
    await q.query("CREATE INDEX \"idx_deploy_events_deployment\" ON \"deploy_events\"  (\"deployment_id\", \"seq\") ");
    await q.query("CREATE INDEX \"idx_deploy_events_job\" ON \"deploy_events\"  (\"job_id\", \"seq\") ");
    await q.query("CREATE TABLE \"schedules\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"book_name\" text NOT NULL, \"scope\" text NOT NULL DEFAULT 'deployment', \"target_id\" uuid NOT NULL, \"entry_index\" integer NOT NULL, \"spec\" jsonb NOT NULL, \"override\" jsonb, \"enabled\" boolean NOT NULL DEFAULT true, \"next_run_at\" TIMESTAMP WITH TIME ZONE, \"last_run_at\" TIMESTAMP WITH TIME ZONE, \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_7e33fc2ea755a5765e3564e66dd\" PRIMARY KEY (\"id\"))");
    await q.query("CREATE UNIQUE INDEX \"uq_schedules_book_target_entry\" ON \"schedules\"  (\"book_name\", \"target_id\", \"entry_index\") ");
    await q.query("CREATE TABLE \"api_tokens\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" text NOT NULL, \"role\" text NOT NULL, \"token_hash\" text NOT NULL, \"cluster_ids\" uuid array, \"prefix\" text NOT NULL, \"date_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"last_used_at\" TIMESTAMP WITH TIME ZONE, \"revoked_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"UQ_bbd687a104e1921e6702c6e3aad\" UNIQUE (\"token_hash\"), CONSTRAINT \"PK_c587455266b5fa8dace7194caac\" PRIMARY KEY (\"id\"))");
    await q.query("ALTER TABLE \"deployment_groups\" ADD CONSTRAINT \"FK_8d129b90b99a3cd02586f6bbd58\" FOREIGN KEY (\"cluster_id\") REFERENCES \"clusters\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"deployments\" ADD CONSTRAINT \"FK_30cda3dbaa243a53bc7ebb4f831\" FOREIGN KEY (\"group_id\") REFERENCES \"deployment_groups\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"deployments\" ADD CONSTRAINT \"FK_ac34881dcc76f4447684f3559bb\" FOREIGN KEY (\"cluster_id\") REFERENCES \"clusters\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"jobs\" ADD CONSTRAINT \"FK_2bbad242b3a880f8358f38e9cc5\" FOREIGN KEY (\"book_version_id\") REFERENCES \"book_versions\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"job_steps\" ADD CONSTRAINT \"FK_d3c4e03bc575b55a18b534d8677\" FOREIGN KEY (\"job_id\") REFERENCES \"jobs\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "api_tokens"`);
    await q.query(`DROP TABLE "schedules"`);
    await q.query(`DROP TABLE "deploy_events"`);
    await q.query(`DROP TABLE "step_duration_history"`);
    await q.query(`DROP TABLE "job_steps"`);
    await q.query(`DROP TABLE "jobs"`);
    await q.query(`DROP TABLE "book_versions"`);
    await q.query(`DROP TABLE "deployments"`);
    await q.query(`DROP TABLE "deployment_groups"`);
    await q.query(`DROP TABLE "clusters"`);
  }
}
