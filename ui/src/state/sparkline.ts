/** A series as the metrics route answers it. */
export interface SeriesPoints {
  name: string;
  attributes: Record<string, string>;
  points: { t: string; value: number }[];
}

/**
 * The points of several series summed per time (e.g. network bytes per second over every interface
 * and direction), in time order.
 * @example sumSeries([a, b]) // [{ t: 1767225600000, value: a0 + b0 }, …]
 */
export function sumSeries(series: readonly SeriesPoints[]): { t: number; value: number }[] {
  const byT = new Map<number, number>();
  for (const s of series) for (const p of s.points) byT.set(Date.parse(p.t), (byT.get(Date.parse(p.t)) ?? 0) + p.value);
  return [...byT].sort(([a], [b]) => a - b).map(([t, value]) => ({ t, value }));
}

/**
 * An SVG polyline `points` attribute for a sparkline of `width` × `height` over [from, to]; values
 * scale to [0, max] (max: `fixedMax`, else the largest value). Empty when there is nothing to draw.
 * @example sparklinePoints([{ t: 0, value: 50 }, { t: 10, value: 100 }], 0, 10, 100, 20, 100) // '0,10 100,0'
 */
export function sparklinePoints(points: readonly { t: number; value: number }[], from: number, to: number, width: number, height: number, fixedMax?: number): string {
  if (points.length === 0 || to <= from) return '';
  const max = fixedMax ?? Math.max(...points.map((p) => p.value), 1e-9);
  const x = (t: number) => Math.round(((t - from) / (to - from)) * width * 10) / 10;
  const y = (v: number) => Math.round((height - (Math.min(v, max) / max) * height) * 10) / 10;
  return points.map((p) => `${x(p.t)},${y(p.value)}`).join(' ');
}

/** Bytes per second in words: 1.2 MB/s. */
export function rateText(v: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}
