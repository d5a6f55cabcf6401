import { CronExpressionParser } from 'cron-parser';

/**
 * What is wrong with a schedule spec that its schema cannot say (the cron expression, the time
 * zone, the order of a single window's ends), or undefined.
 * @example scheduleProblem({ repeated: { cron: '0 2 * * 1-5', timezone: 'Europe/Berlin' } }) // undefined
 */
export function scheduleProblem(spec: Record<string, unknown>): string | undefined {
  const single = spec.single as { startAt?: string; endAt?: string } | undefined;
  if (single?.startAt && single.endAt && Date.parse(single.endAt) <= Date.parse(single.startAt)) {
    return `spec.single.endAt (${single.endAt}) must be after spec.single.startAt (${single.startAt})`;
  }
  const repeated = spec.repeated as { cron?: string; timezone?: string } | undefined;
  if (repeated?.cron === undefined) return undefined;
  const { cron, timezone } = repeated;
  if (cron.trim().split(/\s+/).length !== 5) return 'spec.repeated.cron must have 5 fields: minute hour day-of-month month day-of-week';
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      return `spec.repeated.timezone "${timezone.slice(0, 64)}" is not an IANA time zone (for example UTC, Europe/Berlin, America/New_York)`;
    }
  }
  try {
    CronExpressionParser.parse(cron, { currentDate: new Date(0), tz: timezone ?? 'UTC', strict: false }).next();
  } catch (e) {
    return `spec.repeated.cron "${cron}" is not a valid cron expression (minute hour day-of-month month day-of-week): ${(e as Error).message}`;
  }
  return undefined;
}
