const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC3164 = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)\b/;
const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)\s/;

/**
 * The time at the start of a syslog file line, in ms, or undefined when it has none we know:
 * RFC 3339 (`2026-12-06T17:38:23.123456+01:00 host …`, rsyslog's high-precision format) or
 * RFC 3164 (`Dec  6 17:38:23 host …`, the classic one: local time, no year). A line without a
 * year gets the year that puts it at most a week after `now` (a December line read in January
 * is last year's).
 * @example syslogTime('Dec  6 17:38:23 edge-01 sshd[1]: ok', Date.now())
 */
export function syslogTime(line: string, now: number): number | undefined {
  const iso = RFC3339.exec(line);
  if (iso) {
    const t = Date.parse(`${iso[1]}${(iso[2] ?? '').slice(0, 4)}${iso[3]}`);
    return Number.isFinite(t) ? t : undefined;
  }
  const m = RFC3164.exec(line);
  if (!m) return undefined;
  const [month, day, h, min, s] = [MONTHS.indexOf(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  if (day < 1 || h > 23 || min > 59 || s > 60) return undefined;
  const year = new Date(now).getFullYear();
  for (const y of [year, year - 1]) {
    const d = new Date(y, month, day, h, min, Math.min(s, 59));
    if (d.getDate() !== day) continue; // 29 Feb in a year without one
    if (d.getTime() <= now + 7 * 86_400_000) return d.getTime();
  }
  return undefined;
}
