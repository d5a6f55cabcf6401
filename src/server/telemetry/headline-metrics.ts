import type { IngestPoint } from '../../store/index.ts';

/**
 * The headline metrics (HEADLINE_METRICS) of a batch, derived per sample time from the standard
 * series the agent sends, so any OTLP source of host metrics gets them:
 * - `cpu_used_percent` = 100 × (1 − idle − iowait) from `system.cpu.utilization` by `cpu.mode`;
 * - `memory_used_percent` = 100 × (limit − available) / limit from `system.memory.limit` and
 *   `system.memory.linux.available` (what `free` calls used);
 * - `disk_used_percent` = the fullest filesystem's 100 × used / (used + free) from
 *   `system.filesystem.usage` by `system.filesystem.state` (free is what non-root users may use,
 *   as `df` counts it).
 * @example headlineMetrics(points) // [{ name: 'cpu_used_percent', value: 12.5, … }]
 */
export function headlineMetrics(points: readonly IngestPoint[]): IngestPoint[] {
  const byT = new Map<number, { modes: Map<string, number>; limit?: number; available?: number; fs: Map<string, { used?: number; free?: number }> }>();
  const at = (t: number) => {
    let e = byT.get(t);
    if (!e) byT.set(t, (e = { modes: new Map(), fs: new Map() }));
    return e;
  };
  for (const p of points) {
    if (p.name === 'system.cpu.utilization' && p.attrs['cpu.mode'] && p.attrs['cpu'] === undefined) at(p.t).modes.set(p.attrs['cpu.mode'], p.value);
    else if (p.name === 'system.memory.limit') at(p.t).limit = p.value;
    else if (p.name === 'system.memory.linux.available') at(p.t).available = p.value;
    else if (p.name === 'system.filesystem.usage') {
      const mount = p.attrs['system.filesystem.mountpoint'] ?? p.attrs['system.device'] ?? '';
      const state = p.attrs['system.filesystem.state'];
      const fs = at(p.t).fs;
      const f = fs.get(mount) ?? {};
      if (state === 'used') f.used = p.value;
      else if (state === 'free') f.free = p.value;
      fs.set(mount, f);
    }
  }
  const out: IngestPoint[] = [];
  const clamp = (v: number) => Math.max(0, Math.min(100, v));
  const point = (name: string, t: number, value: number): IngestPoint => ({ name, attrs: {}, type: 'gauge', unit: '%', t, value: Math.round(clamp(value) * 100) / 100 });
  for (const [t, e] of byT) {
    if (e.modes.size > 0 && e.modes.has('idle')) out.push(point('cpu_used_percent', t, 100 * (1 - (e.modes.get('idle') ?? 0) - (e.modes.get('iowait') ?? 0))));
    if (e.limit && e.limit > 0 && e.available !== undefined) out.push(point('memory_used_percent', t, (100 * (e.limit - e.available)) / e.limit));
    let fullest: number | undefined;
    for (const f of e.fs.values()) {
      if (f.used === undefined || f.free === undefined || f.used + f.free <= 0) continue;
      const pct = (100 * f.used) / (f.used + f.free);
      if (fullest === undefined || pct > fullest) fullest = pct;
    }
    if (fullest !== undefined) out.push(point('disk_used_percent', t, fullest));
  }
  return out;
}
