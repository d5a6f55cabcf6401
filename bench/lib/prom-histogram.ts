/** Cumulative bucket counts of one Prometheus histogram, summed over the series that match. */
export interface Buckets {
  /** Upper bounds in seconds, ascending, +Inf last. */
  le: number[];
  /** Cumulative counts per bound. */
  counts: number[];
}

/**
 * Reads `<name>_bucket` lines from a Prometheus text exposition and sums the series whose labels
 * include `match` (e.g. every status of one route).
 * @example histogramBuckets(text, 'eim_http_request_duration_seconds', { route: '/southbound/v1/heartbeat' })
 */
export function histogramBuckets(text: string, name: string, match: Record<string, string>): Buckets {
  const sums = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(name.length + 8, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
    sums.set(le, (sums.get(le) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  const le = [...sums.keys()].sort((a, b) => a - b);
  return { le, counts: le.map((b) => sums.get(b)!) };
}

/** The observations between two scrapes of the same histogram (`after` − `before`). */
export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  return { le: after.le, counts: after.counts.map((c, i) => c - (before.counts[before.le.indexOf(after.le[i])] ?? 0)) };
}

export interface BucketQuantile {
  /** Observations counted. */
  n: number;
  /** The bucket holding the quantile: (lowerMs, upperMs]; upperMs is Infinity past the last bound. */
  lowerMs: number;
  upperMs: number;
  /** Linear interpolation inside that bucket (as Prometheus's histogram_quantile does). */
  estimateMs: number;
  /** Share of observations at or below `atMs` (a bucket bound), when asked. */
  shareAtOrBelow?: number;
}

/**
 * The q-quantile of a histogram from its bucket counts; with `atMs` (a bucket bound), also the
 * share of observations at or below it, which decides "p99 ≤ atMs" exactly.
 * @example quantileOf(bucketsBetween(a, b), 0.99, 50) // { n, lowerMs: 25, upperMs: 50, estimateMs: 31.2, shareAtOrBelow: 0.995 }
 */
export function quantileOf(b: Buckets, q: number, atMs?: number): BucketQuantile {
  const n = b.counts.at(-1) ?? 0;
  const rank = q * n;
  let i = b.counts.findIndex((c) => c >= rank);
  if (i < 0) i = b.counts.length - 1;
  const lower = i === 0 ? 0 : b.le[i - 1];
  const upper = b.le[i];
  const below = i === 0 ? 0 : b.counts[i - 1];
  const inside = b.counts[i] - below;
  const est = Number.isFinite(upper) && inside > 0 ? lower + ((upper - lower) * (rank - below)) / inside : lower;
  const at = atMs === undefined ? -1 : b.le.findIndex((x) => Math.abs(x * 1000 - atMs) < 1e-9);
  return { n, lowerMs: lower * 1000, upperMs: upper * 1000, estimateMs: est * 1000, shareAtOrBelow: at >= 0 && n > 0 ? b.counts[at] / n : undefined };
}

/**
 * The value of one counter or gauge without labels (e.g. `eim_writes_total`); NaN when absent.
 * @example counterValue(text, 'eim_writes_total')
 */
export function counterValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}
