/**
 * A short age such as `45s`, `3m`, `2h5m`, `4d` (kubectl style); `-` when unknown.
 * @example age('2026-11-26T10:00:00Z', Date.parse('2026-11-26T10:03:10Z')) // '3m10s'
 */
export function age(iso: string | undefined, now: number = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 10) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 365 ? `${d}d` : `${Math.floor(d / 365)}y${d % 365 ? `${d % 365}d` : ''}`;
}
