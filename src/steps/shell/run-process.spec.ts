// Secrets never leak through the environment: a step gets the locale and search path of its
// worker, its own `env` and the secrets its book names; nothing else of the worker's.
import { ShellStepExecutor } from './shell.step.js';
import { childEnvFrom, INHERITED_ENV } from './run-process.js';
import { testRun } from '../testing/step-run.fixture.js';

const WORKER_ENV = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/home/quire',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  LC_TIME: 'en_GB.UTF-8',
  TZ: 'Europe/Paris',
  USER: 'quire',
  LOGNAME: 'quire',
  SHELL: '/bin/sh',
  TMPDIR: '/var/tmp',
  TERM: 'dumb',
  DATABASE_URL: 'postgres://quire:hunter22@db/quire',
  QUIRE_TOKEN: 'qt_admin_token',
  QUIRE_SECRET_DB_PASSWORD: 'hunter22',
  QUIRE_SECRETS_FILE: '/etc/quire/secrets',
  QUIRE_LEASE_SECONDS: '15',
  AWS_SECRET_ACCESS_KEY: 'abc',
  NODE_OPTIONS: '--max-old-space-size=100',
};

describe('childEnvFrom', () => {
  it('passes PATH, HOME, LANG, LC_*, TZ, USER, LOGNAME, SHELL, TMPDIR and TERM, and nothing else of the worker', () => {
    const env = childEnvFrom(WORKER_ENV);
    expect(Object.keys(env).sort()).toEqual([...INHERITED_ENV, 'LC_ALL', 'LC_TIME'].sort());
    expect(env.PATH).toBe(WORKER_ENV.PATH);
    expect(env.LC_TIME).toBe('en_GB.UTF-8');
  });

  it("adds the step's secrets, then its own env (later wins)", () => {
    const env = childEnvFrom(WORKER_ENV, { DB_PASSWORD: 'hunter22' }, { REGION: 'eu', PATH: '/opt/bin' });
    expect(env).toMatchObject({ DB_PASSWORD: 'hunter22', REGION: 'eu', PATH: '/opt/bin' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.QUIRE_SECRET_DB_PASSWORD).toBeUndefined();
  });
});

describe('shell step environment', () => {
  const saved: Record<string, string | undefined> = {};
  const planted = {
    DATABASE_URL: 'postgres://x:leak@db/q',
    QUIRE_TOKEN: 'qt_leak',
    QUIRE_SECRET_OTHER: 'leak-other',
    QUIRE_ANYTHING: 'leak',
  };

  beforeAll(() => {
    for (const [k, v] of Object.entries(planted)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("a real child sees none of the worker's database URL, token or secrets, but its own secrets and env", async () => {
    const run = testRun({ kind: 'shell', run: 'env', env: { REGION: 'eu' } }, { env: { DB_PASSWORD: 'named-secret' } });
    expect(await new ShellStepExecutor().execute(run)).toEqual({ outcome: 'done', outputs: {} });
    const names = run
      .text()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(0, line.indexOf('=')));
    // QUIRE_OUTPUT_TOKEN is the step's own (its `::output` token), not the worker's
    expect(names.filter((n) => n.startsWith('QUIRE_') || n === 'DATABASE_URL')).toEqual(['QUIRE_OUTPUT_TOKEN']);
    expect(run.text()).not.toContain('leak');
    expect(run.text()).toContain('DB_PASSWORD=named-secret');
    expect(run.text()).toContain('REGION=eu');
    expect(run.text()).toContain(`PATH=${process.env.PATH}`);
  });
});
