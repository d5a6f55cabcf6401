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
 * Merges levels from the least to the most specific (root region first, the resource last): a
 * later level wins a key. Keys come out sorted, so equal sets serialise equally.
 * @example inheritLabels([{ id: 'region-1', labels: { env: 'prod', geo: 'eu' } }, { id: 'host-2', labels: { env: 'canary' } }])
 * // { labels: { env: 'canary', geo: 'eu' }, sources: { env: 'host-2', geo: 'region-1' } }
 */
export function inheritLabels(levels: readonly LabelLevel[]): InheritedLabelSet {
  const from = new Map<string, { value: string; id: string }>();
  for (const level of levels) for (const [k, v] of Object.entries(level.labels)) from.set(k, { value: v, id: level.id });
  const labels: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const k of [...from.keys()].sort()) {
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
