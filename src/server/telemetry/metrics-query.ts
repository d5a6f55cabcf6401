import { EimError, HEADLINE_METRICS, type HostMetricsAnswer, type MetricSeries } from '../../api/index.ts';
import { Buckets, ROLLUP_MS, type TelemetryStore, unpackRollup } from '../../store/index.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,127}$/;
const MAX_NAMES = 32;
const MAX_POINTS = 2000;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time parameter: RFC 3339, or a duration before `now` (`15m`, `1h`, `7d`).
 * @example timeParam('1h', 'from', now) // now - 3600000
 */
export function timeParam(value: string | undefined, name: string, now: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const d = /^(\d{1,6})([smhd])$/.exec(value);
  if (d) return now - Number(d[1]) * UNITS[d[2]];
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  throw new EimError('invalid_argument', `${name} must be an RFC 3339 time (2026-11-26T10:00:00Z) or a duration before now (15m, 1h, 7d); got ${JSON.stringify(value.slice(0, 40))}`);
}

/** A step: whole seconds (`60`) or a duration (`5m`). */
export function stepParam(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const d = /^(\d{1,7})([smhd])?$/.exec(value);
  const ms = d ? Number(d[1]) * (d[2] ? UNITS[d[2]] : 1000) : NaN;
  if (!(ms >= 1000)) throw new EimError('invalid_argument', `step must be whole seconds ≥ 1 or a duration (30s, 5m); got ${JSON.stringify(value.slice(0, 40))}`);
  return ms;
}

/** `names=a,b`: metric names (default: the headline metrics). */
export function namesParam(value: string | undefined): string[] {
  if (value === undefined || value === '') return [...HEADLINE_METRICS];
  const names = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length > MAX_NAMES) throw new EimError('invalid_argument', `at most ${MAX_NAMES} names per query`);
  for (const n of names) if (!NAME.test(n)) throw new EimError('invalid_argument', `${JSON.stringify(n.slice(0, 64))} is not a metric name`);
  return names;
}

export interface MetricsQuery {
  names: string[];
  from: number;
  to: number;
  stepMs: number;
}

/** Fills a query's defaults: the last hour, about 360 points per series, and checks its bounds. */
export function compileMetricsQuery(q: { names?: string; from?: string; to?: string; step?: string }, now: number): MetricsQuery {
  const to = timeParam(q.to, 'to', now) ?? now;
  const from = timeParam(q.from, 'from', now) ?? to - 3_600_000;
  if (!(from < to)) throw new EimError('invalid_argument', 'from must be before to');
  const stepMs = stepParam(q.step) ?? Math.max(10_000, Math.ceil((to - from) / 360 / 10_000) * 10_000);
  if ((to - from) / stepMs > MAX_POINTS) throw new EimError('invalid_argument', `at most ${MAX_POINTS} points per series: make step at least ${Math.ceil((to - from) / MAX_POINTS / 1000)} s or the range shorter`);
  return { names: namesParam(q.names), from, to, stepMs };
}

/**
 * One host's series over a range, aggregated per step: 5-minute rollups before the raw retention,
 * and, when the step is a multiple of 5 minutes, also inside it up to the newest rolled-up bucket;
 * full-resolution samples for the rest (the answer says `rollup` when any part came from rollups).
 */
export async function hostMetrics(store: TelemetryStore, hostId: string, q: MetricsQuery, rawRetentionMs: number): Promise<HostMetricsAnswer> {
  const series = await store.series(hostId, q.names);
  const buckets = new Map(series.map((s) => [s.id, new Buckets(q.from, q.to, q.stepMs)]));
  // On a rollup boundary, so no bucket is counted from both.
  const cutoff = Math.ceil((store.now() - rawRetentionMs) / ROLLUP_MS) * ROLLUP_MS;
  const aligned = q.stepMs % ROLLUP_MS === 0;
  const rollupTo = aligned ? q.to : Math.min(q.to, cutoff);
  let usedRollups = false;
  let newest: number | undefined;
  if (q.from < rollupTo && series.length > 0) {
    for (const r of await store.readRollups(hostId, Math.floor(q.from / ROLLUP_MS) * ROLLUP_MS, rollupTo)) {
      newest = r.bucket;
      for (const [id, c] of unpackRollup(r.data)) {
        const b = buckets.get(id);
        if (!b) continue;
        usedRollups = true;
        b.add({ t: Math.max(r.bucket, q.from), count: c.count, sum: c.sum, min: c.min, max: c.max, last: c.last });
      }
    }
  }
  const rawFrom = aligned && newest !== undefined ? Math.max(cutoff, newest + ROLLUP_MS) : Math.max(q.from, cutoff);
  if (rawFrom < q.to && series.length > 0) {
    await store.readSamples(hostId, rawFrom, q.to, (t, id, v) => buckets.get(id)?.add({ t, count: 1, sum: v, min: v, max: v, last: v }));
  }
  const out: MetricSeries[] = series.map((s) => ({
    name: s.name,
    attributes: s.attrs,
    type: s.type,
    ...(s.unit ? { unit: s.unit } : {}),
    points: buckets.get(s.id)!.points(s.type).map((p) => ({
      t: new Date(p.t).toISOString(),
      value: round(p.value),
      ...(p.min !== undefined ? { min: round(p.min), max: round(p.max!) } : {}),
    })),
  }));
  return { hostId, from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), step: q.stepMs / 1000, resolution: usedRollups ? 'rollup' : 'raw', series: out };
}

const round = (v: number) => (Number.isInteger(v) ? v : Math.round(v * 1e6) / 1e6);
