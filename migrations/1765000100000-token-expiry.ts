import type { MigrationInterface, QueryRunner } from 'typeorm';

// Tokens may expire (issue 7 item 3): past `expires_at` a token is refused like a revoked one.
export class TokenExpiry1765000100000 implements MigrationInterface {
  name = 'TokenExpiry1765000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_tokens" ADD "expires_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_tokens" DROP COLUMN "expires_at"`);
  }
}
