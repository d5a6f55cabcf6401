/** One level of the hierarchy a resource inherits labels from: a region, a site, a host, the resource itself. */
export interface LabelLevel {
  id: string;
  labels: Readonly<Record<string, string>>;
}

/** A resource's inherited labels and, for each key, the id of the level that set it. */
export interface InheritedLabelSet {
  labels: Record<string, string>;
  sources: Record<string, string>;
}

/**
 * The most a resource inherits, in bytes of keys, values and source ids: 64 KiB, a quarter of a
 * resource's size limit. Labels are bounded per key and value, not in number, so a region with
 * thousands of them (accepted: they fit its own limit) would otherwise give every resource below it
 * a status too large to store, written again and refused forever. Past the budget the nearest
 * levels are kept (the resource's own, its host's, its site's, then regions upward).
 */
export const INHERITED_LABELS_MAX_BYTES = 64 * 1024;

/**
 * Merges levels from the least to the most specific (root region first, the resource last): a
 * later level wins a key. Keys come out sorted, so equal sets serialise equally. At most `maxBytes`
 * of keys, values and sources (see INHERITED_LABELS_MAX_BYTES): the labels of the nearest levels
 * first, each level's in key order, until the next one does not fit.
 * @example inheritLabels([{ id: 'region-1', labels: { env: 'prod', geo: 'eu' } }, { id: 'host-2', labels: { env: 'canary' } }])
 * // { labels: { env: 'canary', geo: 'eu' }, sources: { env: 'host-2', geo: 'region-1' } }
 */
export function inheritLabels(levels: readonly LabelLevel[], maxBytes = INHERITED_LABELS_MAX_BYTES): InheritedLabelSet {
  const from = new Map<string, { value: string; id: string; level: number }>();
  levels.forEach((level, i) => {
    for (const [k, v] of Object.entries(level.labels)) from.set(k, { value: v, id: level.id, level: i });
  });
  let keys = [...from.keys()];
  // JSON's quotes, colon and comma: 6 bytes of each entry besides key, value and source id.
  const bytes = (k: string) => 2 * (Buffer.byteLength(k) + 6) + Buffer.byteLength(from.get(k)!.value) + from.get(k)!.id.length;
  let total = 0;
  for (const k of keys) total += bytes(k);
  if (total > maxBytes) {
    const nearestFirst = keys.sort((a, b) => from.get(b)!.level - from.get(a)!.level || (a < b ? -1 : a > b ? 1 : 0));
    keys = [];
    let used = 0;
    for (const k of nearestFirst) {
      used += bytes(k);
      if (used > maxBytes) break;
      keys.push(k);
    }
  }
  const labels: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const k of keys.sort()) {
    labels[k] = from.get(k)!.value;
    sources[k] = from.get(k)!.id;
  }
  return { labels, sources };
}

/**
 * A merge patch turning `from` into `to` (keys `to` lacks are set to null), or undefined when they are equal.
 * @example replacePatch({ a: '1', b: '2' }, { a: '1', c: '3' }) // { b: null, c: '3' }
 */
export function replacePatch(from: Readonly<Record<string, unknown>> | undefined, to: Readonly<Record<string, string>>): Record<string, string | null> | undefined {
  const patch: Record<string, string | null> = {};
  for (const k of Object.keys(from ?? {})) if (!Object.hasOwn(to, k)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) if (from?.[k] !== v) patch[k] = v;
  return Object.keys(patch).length === 0 ? undefined : patch;
}
