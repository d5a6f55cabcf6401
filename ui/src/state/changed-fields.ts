const MAX = 6;

/**
 * What changed between two versions of a resource, as `path: before → after` lines (spec, status
 * and labels, down to triples' messages; timestamps left out). At most six, then `…`.
 * @example changedFields({ spec: { desiredState: 'registered' } }, { spec: { desiredState: 'onboarded' } }) // ['spec.desiredState: registered → onboarded']
 */
export function changedFields(before: object | undefined, after: object | undefined): string[] {
  const out: string[] = [];
  walk(before, after, '', 0, out);
  return out.length > MAX ? [...out.slice(0, MAX), `… ${out.length - MAX} more`] : out;
}

const SKIP = new Set(['revision', 'updatedAt', 'timestamp', 'lastSeenAt', 'createdAt']);

function walk(a: unknown, b: unknown, path: string, depth: number, out: string[]): void {
  if (isObject(a) && isObject(b) && depth < 3) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (SKIP.has(k)) continue;
      walk(a[k], b[k], path ? `${path}.${k}` : k, depth + 1, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${short(a)} → ${short(b)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(v: unknown): string {
  if (v === undefined) return '∅';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
