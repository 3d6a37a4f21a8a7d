import { ConfigError, loadConfig, parseChannels } from './config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.channels).toEqual({ default: 8 });
    expect(config.engine.enabled).toBe(true);
  });
  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^PORT: must be an integer/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL: must start with postgres/);
    expect(() => loadConfig({ QUIRE_ENGINE: 'maybe' })).toThrow(/^QUIRE_ENGINE/);
    expect(() => loadConfig({ QUIRE_LEASE_SECONDS: '1' })).toThrow(/^QUIRE_LEASE_SECONDS: must be an integer from 3/);
    expect(() => loadConfig({ QUIRE_LEASE_SECONDS: '9', QUIRE_HEARTBEAT_SECONDS: '4' })).toThrow(/^QUIRE_HEARTBEAT_SECONDS: must be at most a third/);
    expect(loadConfig({ QUIRE_LEASE_SECONDS: '9', QUIRE_HEARTBEAT_SECONDS: '3' }).engine.heartbeatSeconds).toBe(3);
  });
  it('parses channel capacities', () => {
    expect(parseChannels('default:4,deploy:2')).toEqual({ default: 4, deploy: 2 });
    expect(() => parseChannels('deploy=2')).toThrow(/QUIRE_CHANNELS/);
    expect(() => parseChannels('deploy:0')).toThrow(/QUIRE_CHANNELS/);
  });
});

describe('schedule configuration', () => {
  it('runs missed slots once by default and reads times in the process zone', () => {
    const config = loadConfig({});
    expect(config.schedules.missed).toBe('once');
    expect(config.schedules.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
  it('takes skip and a named zone, and names a bad value', () => {
    expect(loadConfig({ QUIRE_SCHEDULE_MISSED: 'skip', QUIRE_TIMEZONE: 'Europe/Paris' }).schedules).toEqual({ missed: 'skip', timeZone: 'Europe/Paris' });
    expect(() => loadConfig({ QUIRE_SCHEDULE_MISSED: 'all' })).toThrow(/^QUIRE_SCHEDULE_MISSED: must be once or skip/);
    expect(() => loadConfig({ QUIRE_TIMEZONE: 'Mars/Olympus' })).toThrow(/^QUIRE_TIMEZONE: must be a time zone name/);
  });
});

describe('HTTP configuration', () => {
  it('keeps idle connections 65 s, headers 66 s, bodies up to 2 MiB by default', () => {
    expect(loadConfig({}).http).toEqual({ keepAliveTimeoutSeconds: 65, headersTimeoutSeconds: 66, bodyLimitBytes: 2 * 1024 * 1024 });
    expect(loadConfig({ QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '120' }).http.headersTimeoutSeconds).toBe(121);
  });
  it('names a bad value', () => {
    expect(() => loadConfig({ QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '0' })).toThrow(/^QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: must be an integer from 1/);
    expect(() => loadConfig({ QUIRE_HTTP_HEADERS_TIMEOUT_SECONDS: '65' })).toThrow(/^QUIRE_HTTP_HEADERS_TIMEOUT_SECONDS: must be above QUIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS \(65\)/);
    expect(() => loadConfig({ QUIRE_HTTP_BODY_LIMIT_BYTES: '2mb' })).toThrow(/^QUIRE_HTTP_BODY_LIMIT_BYTES: must be an integer/);
  });
});

describe('operating configuration', () => {
  it('has defaults for mail, links, logs and retention', () => {
    const config = loadConfig({ PORT: '4000' });
    expect(config.notifications).toEqual({ smtpUrl: undefined, mailFrom: 'quire@localhost', publicUrl: 'http://127.0.0.1:4000' });
    expect(config.logFormat).toBe('text');
    expect(config.retention).toEqual({ jobDays: 30, errorJobDays: 90 });
  });
  it('takes smtp:// or smtps://, a public URL, json logs and retention days', () => {
    const config = loadConfig({
      QUIRE_SMTP_URL: 'smtps://u:p@mail.example:465',
      QUIRE_PUBLIC_URL: 'https://quire.example/',
      QUIRE_LOG_FORMAT: 'json',
      QUIRE_JOB_RETENTION_DAYS: '7',
      QUIRE_JOB_ERROR_RETENTION_DAYS: '60',
    });
    expect(config.notifications).toMatchObject({ smtpUrl: 'smtps://u:p@mail.example:465', publicUrl: 'https://quire.example' });
    expect(config.logFormat).toBe('json');
    expect(config.retention).toEqual({ jobDays: 7, errorJobDays: 60 });
  });
  it('names a bad value, never repeating a URL that may hold a password', () => {
    expect(() => loadConfig({ QUIRE_SMTP_URL: 'http://u:secretpw@mail' })).toThrow(/^QUIRE_SMTP_URL: must start with smtp:\/\/ or smtps:\/\/ \(got 'http:'\)$/);
    expect(() => loadConfig({ QUIRE_SMTP_URL: 'not a url secretpw' })).toThrow(/^QUIRE_SMTP_URL: is not a URL/);
    expect(() => loadConfig({ QUIRE_SMTP_URL: 'not a url secretpw' })).not.toThrow(/secretpw/);
    expect(() => loadConfig({ QUIRE_PUBLIC_URL: 'ftp://x' })).toThrow(/^QUIRE_PUBLIC_URL: must be an http/);
    expect(() => loadConfig({ QUIRE_LOG_FORMAT: 'xml' })).toThrow(/^QUIRE_LOG_FORMAT: must be text or json/);
    expect(() => loadConfig({ QUIRE_JOB_RETENTION_DAYS: '0' })).toThrow(/^QUIRE_JOB_RETENTION_DAYS: must be an integer from 1/);
  });
});
