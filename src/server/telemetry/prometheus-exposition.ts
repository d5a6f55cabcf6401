import type { HostLatest, SeriesMeta } from '../../store/index.ts';

/** A host as the exposition labels it. */
export interface ExposedHost {
  id: string;
  name: string;
  project: string;
  site: string;
  region: string;
  labels: Record<string, string>;
}

const UNIT_SUFFIX: Record<string, string> = { By: 'bytes', s: 'seconds', Cel: 'celsius', '1': 'ratio', '%': 'percent' };
const RESERVED = new Set(['host', 'host_id', 'project', 'site', 'region', 'job', 'instance', '__name__']);

/** A Prometheus metric or label name from an OpenTelemetry one: anything outside [a-zA-Z0-9_] becomes _. */
export function promName(s: string): string {
  const n = s.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_');
  return /^[a-zA-Z_]/.test(n) ? n : `_${n}`;
}

/**
 * The Prometheus name of a series, as the OpenTelemetry Prometheus exporter translates names:
 * the unit as a suffix (By → bytes, s → seconds, Cel → celsius, 1 → ratio for gauges; `{…}`
 * annotations dropped) and `_total` for counters. The headline metrics (in percent) are exposed
 * as ratios (0–1), Prometheus' base unit: `eim_cpu_used_ratio`, … .
 * @example metricName({ name: 'system.network.io', type: 'counter', unit: 'By' }) // 'system_network_io_bytes_total'
 */
export function metricName(s: Pick<SeriesMeta, 'name' | 'type' | 'unit'>): { name: string; scale: number } {
  if (s.name.endsWith('_percent') && !s.name.includes('.')) return { name: `eim_${promName(s.name.slice(0, -'_percent'.length))}_ratio`, scale: 0.01 };
  let name = promName(s.name);
  let unit = UNIT_SUFFIX[s.unit] ?? (s.unit.startsWith('{') ? '' : promName(s.unit));
  if (unit === 'ratio' && s.type === 'counter') unit = '';
  if (unit === 'percent') unit = '';
  if (unit && !name.endsWith(`_${unit}`)) name += `_${unit}`;
  if (s.type === 'counter') name = name.replace(/_total$/, '') + '_total';
  return { name, scale: 1 };
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: [string, string][]): string {
  return labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
}

/**
 * Text exposition (format 0.0.4) of some hosts' latest samples: each series with the labels
 * `project`, `host`, `host_id`, `site`, `region`, `label_<key>` for each host label, and its own
 * attributes (sanitised; one that would clash gets the prefix `attr_`). Each sample carries its
 * time. Grouped by metric (one HELP and TYPE per metric, as promtool wants), so the caller gives
 * every host of one answer at once; samples older than `staleBefore` are left out.
 * @example for (const chunk of prometheusExposition(hosts, latest, series, Date.now() - 600_000)) reply.raw.write(chunk)
 */
export function* prometheusExposition(hosts: ReadonlyMap<string, ExposedHost>, latest: readonly HostLatest[], series: ReadonlyMap<number, SeriesMeta & { hostId: string }>, staleBefore: number): Generator<string> {
  const groups = new Map<string, { type: 'gauge' | 'counter'; help: string; lines: string[] }>();
  for (const row of latest) {
    const host = hosts.get(row.hostId);
    if (!host) continue;
    const base: [string, string][] = [
      ['project', host.project],
      ['host', host.name],
      ['host_id', host.id],
      ['site', host.site],
      ['region', host.region],
      ...Object.entries(host.labels)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]): [string, string] => [`label_${promName(k)}`, v]),
    ];
    const taken = new Set(base.map(([k]) => k));
    for (const [id, [t, value]] of row.latest) {
      if (t < staleBefore) continue;
      const s = series.get(id);
      if (!s || s.hostId !== row.hostId) continue;
      const { name, scale } = metricName(s);
      const labels = [...base];
      for (const [k, v] of Object.entries(s.attrs).sort(([a], [b]) => (a < b ? -1 : 1))) {
        let key = promName(k);
        if (RESERVED.has(key) || taken.has(key) || key.startsWith('__')) key = `attr_${key}`;
        labels.push([key, v]);
      }
      let g = groups.get(name);
      if (!g) groups.set(name, (g = { type: s.type, help: `${s.name}${s.unit ? ` (${s.unit})` : ''}, the latest sample of each host (eim)`, lines: [] }));
      g.lines.push(`${name}{${labelText(labels)}} ${formatValue(value * scale)} ${Math.round(t)}`);
    }
  }
  for (const [name, g] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    yield `# HELP ${name} ${g.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${g.type}\n${g.lines.join('\n')}\n`;
  }
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
