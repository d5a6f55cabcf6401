import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { scheduleProblem } from '../../api/schedule-check.ts';
import { scheduleWindow } from './schedule-window.ts';

const T = (iso: string) => Date.parse(iso);
const target = { siteId: 'site-00000001' };
const repeated = (cron: string, durationSeconds: number, timezone?: string) =>
  ({ purpose: 'maintenance', target, repeated: { cron, durationSeconds, ...(timezone ? { timezone } : {}) } }) as const;
const single = (startAt: string, endAt?: string) => ({ purpose: 'os-update', target, single: { startAt, ...(endAt ? { endAt } : {}) } }) as const;

test('a single window is [startAt, endAt): closed before, open during, closed for good after', () => {
  const s = single('2026-11-26T10:00:00Z', '2026-11-26T12:00:00Z');
  assert.deepEqual(scheduleWindow(s, T('2026-11-26T09:00:00Z')), { open: false, nextOpenAt: T('2026-11-26T10:00:00Z'), changesAt: T('2026-11-26T10:00:00Z') });
  assert.deepEqual(scheduleWindow(s, T('2026-11-26T10:00:00Z')), { open: true, openedAt: T('2026-11-26T10:00:00Z'), closesAt: T('2026-11-26T12:00:00Z'), changesAt: T('2026-11-26T12:00:00Z') });
  assert.deepEqual(scheduleWindow(s, T('2026-11-26T12:00:00Z')), { open: false });
  // Without endAt it stays open.
  assert.deepEqual(scheduleWindow(single('2026-11-26T10:00:00Z'), T('2030-01-01T00:00:00Z')), { open: true, openedAt: T('2026-11-26T10:00:00Z') });
});

test('a repeated window opens at each fire time for durationSeconds, and says when it next opens', () => {
  const s = repeated('0 2 * * *', 3600);
  const during = scheduleWindow(s, T('2026-11-26T02:30:00Z'));
  assert.deepEqual(during, { open: true, openedAt: T('2026-11-26T02:00:00Z'), closesAt: T('2026-11-26T03:00:00Z'), nextOpenAt: T('2026-11-27T02:00:00Z'), changesAt: T('2026-11-26T03:00:00Z') });
  // A fire time exactly now counts: the window opens at its first instant, and closes at its end.
  assert.equal(scheduleWindow(s, T('2026-11-26T02:00:00Z')).open, true);
  assert.equal(scheduleWindow(s, T('2026-11-26T03:00:00Z')).open, false);
  assert.deepEqual(scheduleWindow(s, T('2026-11-26T05:00:00Z')), { open: false, nextOpenAt: T('2026-11-27T02:00:00Z'), changesAt: T('2026-11-27T02:00:00Z') });
  // Weekdays only: Friday night's window is followed by Monday's.
  const weekdays = repeated('0 22 * * 1-5', 7200);
  assert.equal(scheduleWindow(weekdays, T('2026-11-27T23:00:00Z')).open, true); // a Friday
  assert.equal(scheduleWindow(weekdays, T('2026-11-27T23:00:00Z')).nextOpenAt, T('2026-11-30T22:00:00Z'));
});

test('a time zone moves the fire times, daylight saving time included', () => {
  // 02:00 in Berlin is 01:00 UTC in winter and 00:00 UTC in summer.
  const s = repeated('0 2 * * *', 1800, 'Europe/Berlin');
  assert.equal(scheduleWindow(s, T('2026-11-26T01:10:00Z')).open, true);
  assert.equal(scheduleWindow(s, T('2026-11-26T02:10:00Z')).open, false);
  assert.equal(scheduleWindow(s, T('2026-07-01T00:10:00Z')).open, true);
  assert.equal(scheduleWindow(s, T('2026-07-01T01:10:00Z')).open, false);
});

test('overlapping repeated windows merge into one that closes after the last of them', () => {
  // Every 10 minutes for 15 minutes: never closed.
  const w = scheduleWindow(repeated('*/10 * * * *', 900), T('2026-11-26T02:03:00Z'));
  assert.equal(w.open, true);
  assert.equal(w.nextOpenAt, undefined, 'a window that never closes has no next opening');
  assert.equal(w.closesAt, undefined, 'and no end');
  assert.ok(w.changesAt! > T('2026-11-26T02:03:00Z') + 3600_000, 'looked at again only far ahead');
  // A daily window of 24 h is the same: always open.
  const daily = scheduleWindow(repeated('0 0 * * *', 86_400), T('2026-11-26T12:00:00Z'));
  assert.deepEqual([daily.open, daily.closesAt, daily.nextOpenAt], [true, undefined, undefined]);
  // Every hour for 90 minutes, looked at in the overlap: opened at the first, closes after the second.
  const h = scheduleWindow(repeated('0 1,2 * * *', 5400), T('2026-11-26T02:10:00Z'));
  assert.deepEqual([h.openedAt, h.closesAt], [T('2026-11-26T01:00:00Z'), T('2026-11-26T03:30:00Z')]);
});

test('property: a daily window is open exactly when the time since the day\'s fire time is under its duration', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 86_399 }), fc.integer({ min: 0, max: 365 * 86_400_000 }), (m, h, d, offset) => {
      const now = T('2026-01-01T00:00:00Z') + offset;
      const w = scheduleWindow(repeated(`${m} ${h} * * *`, d), now);
      const day = 86_400_000;
      const fireToday = Math.floor(now / day) * day + (h * 60 + m) * 60_000;
      const lastFire = fireToday <= now ? fireToday : fireToday - day;
      const expected = now - lastFire < d * 1000;
      assert.equal(w.open, expected);
      // The answer holds until changesAt, and changes there.
      assert.ok(w.changesAt! > now);
      assert.equal(scheduleWindow(repeated(`${m} ${h} * * *`, d), w.changesAt! - 1).open, expected);
      assert.equal(scheduleWindow(repeated(`${m} ${h} * * *`, d), w.changesAt!).open, !expected);
    }),
    { numRuns: 200 },
  );
});

test('schedule specs a schema cannot check are refused with what is wrong', () => {
  assert.equal(scheduleProblem({ repeated: { cron: '0 2 * * 1-5', durationSeconds: 60, timezone: 'America/New_York' } }), undefined);
  assert.match(scheduleProblem({ repeated: { cron: '0 2 * *', durationSeconds: 60 } })!, /5 fields/);
  assert.match(scheduleProblem({ repeated: { cron: '61 2 * * *', durationSeconds: 60 } })!, /not a valid cron expression/);
  assert.match(scheduleProblem({ repeated: { cron: '0 0 30 2 *', durationSeconds: 60 } })!, /not a valid cron expression/);
  assert.match(scheduleProblem({ repeated: { cron: '0 2 * * *', durationSeconds: 60, timezone: 'Mars/Olympus' } })!, /not an IANA time zone/);
  assert.match(scheduleProblem({ single: { startAt: '2026-11-26T10:00:00Z', endAt: '2026-11-26T09:00:00Z' } })!, /must be after/);
});
