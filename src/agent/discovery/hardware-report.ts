import { HARDWARE_REPORT_LIMITS as LIMITS, type HardwareReport } from '../../api/index.ts';

/** The longest string the schema takes in a report (device names: 128). */
const MAX_TEXT = 256;
const MAX_DEVICE_NAME = 128;
const MAX_ADDRESSES = 32;

/**
 * The report in canonical form: devices sorted by name, IP addresses sorted, absent fields left
 * out, lists and strings clipped to the schema's limits (HARDWARE_REPORT_LIMITS: a node with more
 * than 64 NICs reports the first 64 by name rather than having its whole report refused). Two scans of an unchanged machine give
 * deep-equal canonical reports.
 * @example normalizeHardwareReport(await discovery.scan())
 */
export function normalizeHardwareReport(r: HardwareReport): HardwareReport {
  const byName = <T extends { deviceName: string }>(list: T[], max: number): T[] =>
    list
      .map((d) => ({ ...prune(d), deviceName: d.deviceName.slice(0, MAX_DEVICE_NAME) }))
      .sort((a, b) => (a.deviceName < b.deviceName ? -1 : a.deviceName > b.deviceName ? 1 : 0))
      .slice(0, max);
  return {
    hardware: prune(r.hardware),
    nics: byName(
      r.nics.map((n) => (n.ipAddresses ? { ...n, ipAddresses: [...n.ipAddresses].sort().slice(0, MAX_ADDRESSES).map((a) => a.slice(0, 64)) } : n)),
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

/** Drops absent and empty fields; clips strings to what the schema takes. */
function prune<T extends object>(o: T): T {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => [k, typeof v === 'string' ? v.slice(0, MAX_TEXT) : v]),
  ) as T;
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
