/**
 * How long ago an ISO time was, short: `just now`, `42 s ago`, `3 min ago`, `5 h ago`, `2 d ago`.
 * @example age('2026-11-26T10:00:00Z', Date.parse('2026-11-26T10:03:00Z')) // '3 min ago'
 */
export function age(iso: string | undefined, now: number): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (Number.isNaN(s)) return '—';
  if (s < -1) return `in ${span(-s)}`;
  if (s < 2) return 'just now';
  return `${span(s)} ago`;
}

function span(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** A local date and time, or `—`. */
export const when = (iso: string | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** Bytes as `16 GiB`. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/**
 * A count with its noun, singular for exactly one: `1 host`, `0 hosts`, `3 policies`.
 * @example plural(1, 'host') // '1 host'
 * @example plural(2, 'policy', 'policies') // '2 policies'
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
