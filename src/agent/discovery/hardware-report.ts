import type { HardwareReport } from '../../api/index.ts';

const LIMITS = { nics: 256, storages: 256, gpus: 64, usbs: 256 } as const;

/**
 * The report in canonical form: devices sorted by name, IP addresses sorted, absent fields left
 * out, lists clipped to the schema's limits (a node with more than 256 NICs reports the first 256
 * by name rather than having its whole report refused). Two scans of an unchanged machine give
 * deep-equal canonical reports.
 * @example normalizeHardwareReport(await discovery.scan())
 */
export function normalizeHardwareReport(r: HardwareReport): HardwareReport {
  const byName = <T extends { deviceName: string }>(list: T[], max: number): T[] =>
    list
      .map((d) => prune(d))
      .sort((a, b) => (a.deviceName < b.deviceName ? -1 : a.deviceName > b.deviceName ? 1 : 0))
      .slice(0, max);
  return {
    hardware: prune(r.hardware),
    nics: byName(
      r.nics.map((n) => (n.ipAddresses ? { ...n, ipAddresses: [...n.ipAddresses].sort() } : n)),
      LIMITS.nics,
    ),
    storages: byName(r.storages, LIMITS.storages),
    gpus: byName(r.gpus, LIMITS.gpus),
    usbs: byName(r.usbs, LIMITS.usbs),
  };
}

/** True when two reports describe the same machine (after normalizing both). */
export function sameHardwareReport(a: HardwareReport | undefined, b: HardwareReport | undefined): boolean {
  if (!a || !b) return a === b;
  return canonicalJson(normalizeHardwareReport(a)) === canonicalJson(normalizeHardwareReport(b));
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}

function prune<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

/** The report in one line, for the agent's log. */
export function summarizeReport(r: HardwareReport): string {
  const h = r.hardware;
  const gib = h.memoryBytes ? `${(h.memoryBytes / 1024 ** 3).toFixed(1)} GiB` : 'memory unknown';
  return `${h.cpuModel ?? 'CPU unknown'} (${h.cpuCores ?? '?'} cores, ${h.cpuThreads ?? '?'} threads), ${gib}, ${r.nics.length} NIC(s), ${r.storages.length} disk(s), ${r.gpus.length} GPU(s), ${r.usbs.length} USB device(s)`;
}

/** Which parts of the report differ (hardware, nics, storages, gpus, usbs). */
export function changedSections(a: HardwareReport, b: HardwareReport): string[] {
  return (['hardware', 'nics', 'storages', 'gpus', 'usbs'] as const).filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}
