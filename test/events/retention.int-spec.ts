// Retention (QUIRE_EVENT_RETENTION_DAYS): events older than it are deleted, in batches, soon
// after start and then hourly; newer ones stay.
import { jest } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { EventsService } from '../../src/events/events.service.js';

describe('event retention', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ booksDir: 'test/fixtures/service-books', engine: false, env: { QUIRE_EVENT_RETENTION_DAYS: '7' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  const db = () => app.server.database.dataSource;
  /** `count` events of type `marker`, `days` old. */
  const insert = (marker: string, count: number, days: number) =>
    db().query(
      `INSERT INTO deploy_events (type, payload, at) SELECT $1, '{}', now() - $3::float8 * interval '1 day' FROM generate_series(1, $2::int)`,
      [marker, count, days],
    );
  const count = async (marker: string) =>
    Number(((await db().query(`SELECT count(*) AS n FROM deploy_events WHERE type = $1`, [marker])) as { n: string }[])[0]!.n);

  it('runs soon after start: old events go, recent ones stay', async () => {
    await insert('boot-old', 50, 8);
    await insert('boot-new', 50, 6);
    const deadline = Date.now() + 15_000;
    while ((await count('boot-old')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect({ old: await count('boot-old'), recent: await count('boot-new') }).toEqual({ old: 0, recent: 50 });
  });

  it('deletes in batches of the given size until nothing old is left', async () => {
    await insert('old', 2500, 30);
    await insert('edge', 10, 7.01);
    await insert('recent', 300, 6.99);
    await insert('today', 300, 0);
    const query = jest.spyOn(db(), 'query');
    try {
      expect(await app.server.app.get(EventsService).prune(1000)).toBe(2510);
      const deletes = query.mock.calls.filter(([sql]) => /^\s*DELETE/.test(String(sql)));
      expect(deletes).toHaveLength(3); // 1000 + 1000 + 510
    } finally {
      query.mockRestore();
    }
    expect({ old: await count('old'), edge: await count('edge'), recent: await count('recent'), today: await count('today') }).toEqual({
      old: 0,
      edge: 0,
      recent: 300,
      today: 300,
    });
  });
});
