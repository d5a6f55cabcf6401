import { UsageError } from './usage-error.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Seconds in a duration such as `30s`, `15m`, `24h`, `7d` (or `1h30m`); a bare number is seconds.
 * @example parseDuration('24h') // 86400
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const parts = [...t.matchAll(/(\d+)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new UsageError(`"${text}" is not a duration: use a number with s, m, h, d or w (30s, 15m, 24h, 7d)`);
  }
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]], 0);
  if (seconds <= 0) throw new UsageError(`the duration "${text}" must be longer than 0`);
  return seconds;
}
