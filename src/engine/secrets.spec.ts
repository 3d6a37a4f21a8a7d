import { isCredentialName } from './secrets.js';

describe('isCredentialName: what leaves the server environment at start', () => {
  it.each(['QUIRE_SECRET_DEMO_TOKEN', 'QUIRE_SECRETS_FILE', 'DATABASE_URL', 'QUIRE_SMTP_URL', 'PGPASSWORD', 'QUIRE_TOKEN', 'GITHUB_TOKEN', 'DB_PASSWORD', 'AWS_API_KEY', 'SECRET'])(
    '%s is a credential',
    (name) => expect(isCredentialName(name)).toBe(true),
  );
  it.each(['PATH', 'HOME', 'QUIRE_TOKEN_RECHECK_SECONDS', 'QUIRE_BOOKS_DIR', 'QUIRE_WORKER_ID', 'TOKENIZER', 'PORT'])('%s is not', (name) =>
    expect(isCredentialName(name)).toBe(false),
  );
});
