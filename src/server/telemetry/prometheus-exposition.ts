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

/**
 * Label pairs from attributes, one per label name: values of keys that `nameOf` maps to the same
 * name are joined with `;`, in the sorted order of the original keys (the OpenTelemetry
 * Prometheus compatibility rule), so the result does not depend on the attributes' order.
 * @example mergeLabels([['a_b', '2'], ['a.b', '1']], (k) => promName(k)) // [['a_b', '1;2']]
 */
export function mergeLabels(entries: [string, string][], nameOf: (key: string) => string): [string, string][] {
  const merged = new Map<string, string[]>();
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = nameOf(k);
    const values = merged.get(name);
    if (values) values.push(v);
    else merged.set(name, [v]);
  }
  return [...merged].map(([name, values]) => [name, values.join(';')]);
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
 * attributes (sanitised; one that would clash with the labels above gets the prefix `attr_`).
 * Keys that sanitise to the same name (`a.b` and `a_b`) make one label whose values are joined
 * with `;` in the sorted order of the original keys, as the OpenTelemetry Prometheus exporter
 * does, so no label name appears twice. Each sample carries its time. Grouped by metric (one HELP and TYPE per metric, as promtool wants), so the caller gives
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
      ...mergeLabels(Object.entries(host.labels), (k) => `label_${promName(k)}`),
    ];
    const taken = new Set(base.map(([k]) => k));
    for (const [id, [t, value]] of row.latest) {
      if (t < staleBefore) continue;
      const s = series.get(id);
      if (!s || s.hostId !== row.hostId) continue;
      const { name, scale } = metricName(s);
      const labels = [
        ...base,
        ...mergeLabels(Object.entries(s.attrs), (k) => {
          const key = promName(k);
          return RESERVED.has(key) || taken.has(key) || key.startsWith('__') ? `attr_${key}` : key;
        }),
      ];
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
