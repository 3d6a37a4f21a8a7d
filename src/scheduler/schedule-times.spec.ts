import {
  describeSpec,
  effectiveSpec,
  nextAfterDue,
  nextRunAfter,
  scheduleEntryProblems,
  shouldFire,
  MISSED_GRACE_MS,
} from './schedule-times.js';

const at = (iso: string) => new Date(iso);

describe('nextRunAfter', () => {
  it('puts every slots on whole multiples of the interval, the same on every node', () => {
    expect(nextRunAfter({ every: '2s' }, at('2026-01-01T10:00:01.300Z'), 'UTC')).toEqual(at('2026-01-01T10:00:02.000Z'));
    expect(nextRunAfter({ every: '2s' }, at('2026-01-01T10:00:02.000Z'), 'UTC')).toEqual(at('2026-01-01T10:00:04.000Z'));
    expect(nextRunAfter({ every: '6h' }, at('2026-01-01T13:59:00Z'), 'Europe/Paris')).toEqual(at('2026-01-01T18:00:00Z'));
    expect(nextRunAfter({ every: 90 }, at('2026-01-01T00:00:00Z'), 'UTC')).toEqual(at('2026-01-01T00:01:30Z'));
  });

  it('reads at times in the engine time zone, the earliest of several', () => {
    expect(nextRunAfter({ at: '03:15' }, at('2026-01-01T00:07:00Z'), 'UTC')).toEqual(at('2026-01-01T03:15:00Z'));
    expect(nextRunAfter({ at: '03:15' }, at('2026-01-01T00:07:00Z'), 'Europe/Paris')).toEqual(at('2026-01-01T02:15:00Z'));
    expect(nextRunAfter({ at: ['14:30', '02:00'] }, at('2026-01-01T03:00:00Z'), 'UTC')).toEqual(at('2026-01-01T14:30:00Z'));
    expect(nextRunAfter({ at: ['14:30', '02:00'] }, at('2026-01-01T15:00:00Z'), 'UTC')).toEqual(at('2026-01-02T02:00:00Z'));
  });

  it('computes cron times with croner, in the time zone', () => {
    expect(nextRunAfter({ cron: '*/15 * * * *' }, at('2026-01-01T00:07:00Z'), 'UTC')).toEqual(at('2026-01-01T00:15:00Z'));
    // 2026-01-05 is a Monday
    expect(nextRunAfter({ cron: '0 3 * * 1' }, at('2026-01-01T00:00:00Z'), 'America/New_York')).toEqual(at('2026-01-05T08:00:00Z'));
  });
});

describe('missed slots', () => {
  const now = at('2026-01-01T12:00:00Z');
  it('fires a slot that is only a little late, whatever the policy', () => {
    expect(shouldFire(at('2026-01-01T11:59:58Z'), now, 'skip')).toBe(true);
    expect(shouldFire(new Date(now.getTime() - MISSED_GRACE_MS), now, 'skip')).toBe(true);
  });
  it('fires a missed slot once with once, not at all with skip', () => {
    expect(shouldFire(at('2026-01-01T09:00:00Z'), now, 'once')).toBe(true);
    expect(shouldFire(at('2026-01-01T09:00:00Z'), now, 'skip')).toBe(false);
  });
  it('moves past now after a due slot, so however many were missed none follows at once', () => {
    // every 2s, down for three hours: the next slot is the first after now, not the one after the missed slot
    expect(nextAfterDue({ every: '2s' }, at('2026-01-01T09:00:00Z'), now, 'UTC')).toEqual(at('2026-01-01T12:00:02Z'));
    // on time: the slot after the due one
    expect(nextAfterDue({ every: '2s' }, at('2026-01-01T12:00:00Z'), at('2026-01-01T12:00:00.400Z'), 'UTC')).toEqual(
      at('2026-01-01T12:00:02Z'),
    );
    expect(nextAfterDue({ at: '03:00' }, at('2025-12-30T03:00:00Z'), now, 'UTC')).toEqual(at('2026-01-02T03:00:00Z'));
  });
});

describe('overrides', () => {
  it('wins over the book entry while set', () => {
    expect(effectiveSpec({ every: '6h' }, { cron: '0 1 * * *' })).toEqual({ cron: '0 1 * * *' });
    expect(effectiveSpec({ every: '6h' }, null)).toEqual({ every: '6h' });
  });
  it('accepts one valid every, at or cron', () => {
    expect(scheduleEntryProblems({ every: '30m' })).toEqual([]);
    expect(scheduleEntryProblems({ at: ['02:00', '23:59'] })).toEqual([]);
    expect(scheduleEntryProblems({ cron: '0 3 * * 1' })).toEqual([]);
  });
  it('names the field and the problem of a bad one', () => {
    expect(scheduleEntryProblems({ cron: '61 * * * *' })).toEqual([
      expect.objectContaining({ field: 'override.cron', message: expect.stringMatching(/not a valid cron expression: .*minute: 61/) }),
    ]);
    expect(scheduleEntryProblems({ every: '0s' })[0]).toMatchObject({
      field: 'override.every',
      message: 'override.every: must be more than 0',
    });
    expect(scheduleEntryProblems({ every: 'soon' })[0]).toMatchObject({ field: 'override.every' });
    expect(scheduleEntryProblems({ at: ['02:00', '25:00'] })[0]).toMatchObject({ field: 'override.at[1]' });
    expect(scheduleEntryProblems({ every: '1h', cron: '* * * * *' })[0]!.message).toMatch(/exactly one of every, at or cron/);
    expect(scheduleEntryProblems({ hourly: true })[0]).toMatchObject({ field: 'override.hourly' });
    expect(scheduleEntryProblems('daily')[0]).toMatchObject({ field: 'override' });
  });
  it('describes an entry for people', () => {
    expect(describeSpec({ every: '2s' })).toBe('every 2s');
    expect(describeSpec({ at: ['02:00', '14:30'] })).toBe('at 02:00, 14:30');
    expect(describeSpec({ cron: '0 3 * * 1' })).toBe('cron 0 3 * * 1');
  });
});
