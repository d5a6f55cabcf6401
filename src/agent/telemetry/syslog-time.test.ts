import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { syslogTime } from './syslog-time.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');
/** What rsyslog writes by default (local time, day padded with a space). */
const rfc3164 = (d: Date) => `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;

test('RFC 3164 stamps read back as the local time they say, in the year that puts them at most a week ahead', () => {
  const now = new Date(2026, 0, 2, 12, 0, 0).getTime();
  assert.equal(syslogTime('Jan  2 11:59:58 edge-01 sshd[7]: ok', now), new Date(2026, 0, 2, 11, 59, 58).getTime());
  assert.equal(syslogTime('Dec 31 23:00:00 edge-01 cron[1]: x', now), new Date(2025, 11, 31, 23, 0, 0).getTime(), 'December read in January is last year’s');
  assert.equal(syslogTime('Jan  5 00:00:00 edge-01 x: clock skew', now), new Date(2026, 0, 5).getTime(), 'a little ahead stays this year');
  assert.equal(syslogTime('Feb 29 10:00:00 h x: y', new Date(2026, 2, 1).getTime()), undefined, 'no 29 Feb in 2026 or 2025');
  assert.equal(syslogTime('Feb 29 10:00:00 h x: y', new Date(2028, 2, 1).getTime()), new Date(2028, 1, 29, 10).getTime());
  assert.equal(syslogTime('Jan 2 11:00:00 h x: day not padded', now), new Date(2026, 0, 2, 11).getTime());
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2090, 0, 1) }), fc.integer({ min: 0, max: 300 * 86_400 }), (readAt, agoS) => {
      const stamp = new Date(Math.floor((readAt - agoS * 1000) / 1000) * 1000);
      // A local time in the hour a DST change repeats names two instants: only unambiguous ones.
      fc.pre(new Date(stamp.getFullYear(), stamp.getMonth(), stamp.getDate(), stamp.getHours(), stamp.getMinutes(), stamp.getSeconds()).getTime() === stamp.getTime());
      assert.equal(syslogTime(`${rfc3164(stamp)} host prog[1]: message`, readAt), stamp.getTime());
    }),
  );
});

test('RFC 3339 stamps (rsyslog high precision) with their offset; anything else is undefined', () => {
  assert.equal(syslogTime('2026-12-06T17:38:23.123456+01:00 edge-01 kernel: x', 0), Date.UTC(2026, 11, 6, 16, 38, 23, 123));
  assert.equal(syslogTime('2026-12-06T17:38:23Z edge-01 kernel: x', 0), Date.UTC(2026, 11, 6, 17, 38, 23));
  for (const line of ['', 'kernel: no stamp', 'Foo  6 17:38:23 h x', 'Dec  6 25:00:00 h x', 'Dec  0 10:00:00 h x', '2026-13-45T99:00:00Z h x', 'Dec  6 17:38 h x']) {
    assert.equal(syslogTime(line, Date.now()), undefined, JSON.stringify(line));
  }
});
