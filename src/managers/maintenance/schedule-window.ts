import { CronExpressionParser } from 'cron-parser';
import type { Static } from 'typebox';
import type { ScheduleSpec } from '../../api/kinds.ts';

type Spec = Static<typeof ScheduleSpec>;

/** A schedule's window at one instant. Times are epoch milliseconds. */
export interface ScheduleWindow {
  open: boolean;
  /** When the window open now opened (open only). */
  openedAt?: number;
  /**
   * When the window open now closes (open only); undefined: no end (an open-ended single window,
   * or repeated windows that keep running into each other as far as MAX_MERGED fire times).
   */
  closesAt?: number;
  /** The next opening after now (after the current window, when open); undefined: never again. */
  nextOpenAt?: number;
  /** The next instant at which this answer changes; undefined: never. */
  changesAt?: number;
}

/**
 * Overlapping repeated windows (a duration longer than the cron period) merge into one; this many
 * fire times are followed at most to find where the merged window ends.
 */
const MAX_MERGED = 100;

/**
 * Where a schedule's window stands at `now`: open or not, and when that changes. A repeated window
 * opens at each cron fire time (in `timezone`, UTC by default) and lasts durationSeconds; a single
 * one is [startAt, endAt), open-ended without endAt.
 * @example scheduleWindow({ purpose: 'maintenance', target: { siteId }, repeated: { cron: '0 2 * * *', durationSeconds: 3600 } }, Date.now())
 */
export function scheduleWindow(spec: Spec, now: number): ScheduleWindow {
  if (spec.single) return singleWindow(Date.parse(spec.single.startAt), spec.single.endAt ? Date.parse(spec.single.endAt) : undefined, now);
  if (spec.repeated) return repeatedWindow(spec.repeated.cron, spec.repeated.durationSeconds * 1000, spec.repeated.timezone, now);
  return { open: false };
}

function singleWindow(start: number, end: number | undefined, now: number): ScheduleWindow {
  if (now < start) return { open: false, nextOpenAt: start, changesAt: start };
  if (end === undefined) return { open: true, openedAt: start };
  if (now < end) return { open: true, openedAt: start, closesAt: end, changesAt: end };
  return { open: false };
}

function repeatedWindow(cron: string, durationMs: number, tz: string | undefined, now: number): ScheduleWindow {
  const last = fireAtOrBefore(cron, tz, now);
  if (last !== undefined && last + durationMs > now) {
    // Open: follow later fire times that start before the window ends (overlapping windows merge).
    let closesAt = last + durationMs;
    const it = iterator(cron, tz, now);
    let next = nextOf(it);
    for (let i = 0; next !== undefined && next <= closesAt; i++) {
      closesAt = Math.max(closesAt, next + durationMs);
      next = nextOf(it);
      // Windows that never stop overlapping (a daily window of 24 h): open with no end in sight.
      // The answer is looked at again when the horizon followed so far runs out.
      if (i === MAX_MERGED) return { open: true, openedAt: last, changesAt: closesAt };
    }
    let openedAt = last;
    // The window may have opened earlier, if earlier windows ran into this one.
    const back = iterator(cron, tz, last);
    for (let i = 0; i < MAX_MERGED; i++) {
      const prev = prevOf(back);
      if (prev === undefined || prev + durationMs < openedAt) break;
      openedAt = prev;
    }
    return { open: true, openedAt, closesAt, nextOpenAt: next, changesAt: closesAt };
  }
  const next = nextOf(iterator(cron, tz, now));
  return { open: false, nextOpenAt: next, changesAt: next };
}

type CronIterator = ReturnType<typeof CronExpressionParser.parse>;

const iterator = (cron: string, tz: string | undefined, from: number): CronIterator =>
  CronExpressionParser.parse(cron, { currentDate: new Date(from), tz: tz ?? 'UTC' });

/** The latest fire time ≤ t. */
function fireAtOrBefore(cron: string, tz: string | undefined, t: number): number | undefined {
  // prev() is strictly before its start, so start just after t to count a fire time at t itself.
  return prevOf(iterator(cron, tz, t + 1));
}

function nextOf(it: CronIterator): number | undefined {
  return it.hasNext() ? it.next().getTime() : undefined;
}

function prevOf(it: CronIterator): number | undefined {
  return it.hasPrev() ? it.prev().getTime() : undefined;
}
