const MAX = 6;

/**
 * What changed between two versions of a resource, as `path: before → after` lines (spec, status
 * and labels, down to triples' messages; timestamps left out). A status triple written again with
 * the same words (an agent enrolling again) shows as `path: "message" (written again)`. When only
 * bookkeeping changed, that is shown (`status.lastSeenAt: …`), never nothing. At most six, then `…`.
 * @example changedFields({ spec: { desiredState: 'registered' } }, { spec: { desiredState: 'onboarded' } }) // ['spec.desiredState: registered → onboarded']
 */
export function changedFields(before: object | undefined, after: object | undefined): string[] {
  const out: string[] = [];
  const quiet: string[] = [];
  walk(before, after, '', 0, out, quiet);
  const all = out.length > 0 ? out : quiet;
  return all.length > MAX ? [...all.slice(0, MAX), `… ${all.length - MAX} more`] : all;
}

const SKIP = new Set(['revision', 'updatedAt', 'timestamp', 'lastSeenAt', 'createdAt']);
/** Skipped fields worth naming when nothing else changed. */
const QUIET = new Set(['lastSeenAt']);

function walk(a: unknown, b: unknown, path: string, depth: number, out: string[], quiet: string[]): void {
  if (isObject(a) && isObject(b) && depth < 3) {
    const mark = out.length;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const at = path ? `${path}.${k}` : k;
      if (SKIP.has(k)) {
        if (QUIET.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])) quiet.push(`${at}: ${short(a[k])} → ${short(b[k])}`);
        continue;
      }
      walk(a[k], b[k], at, depth + 1, out, quiet);
    }
    if (out.length === mark && isTriple(b) && a.timestamp !== b.timestamp) out.push(`${path}: ${short(b.message)} (written again)`);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${short(a)} → ${short(b)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isTriple = (v: Record<string, unknown>): boolean => typeof v.timestamp === 'string' && 'indicator' in v;

function short(v: unknown): string {
  if (v === undefined) return '∅';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
