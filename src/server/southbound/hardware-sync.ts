import { type HardwareReport, type Inventory, jsonEqual, listAll, type Resource } from '../../api/index.ts';

const DEVICE_KINDS = [
  { kind: 'HostNic', field: 'nics' },
  { kind: 'HostStorage', field: 'storages' },
  { kind: 'HostGpu', field: 'gpus' },
  { kind: 'HostUsb', field: 'usbs' },
] as const;

/** A merge patch that turns `before` into `after` exactly (removed keys become null). */
function replacePatch(before: Record<string, unknown> | undefined, after: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...after };
  for (const k of Object.keys(before ?? {})) if (!(k in after)) patch[k] = null;
  return patch;
}

/** A resource name for a host's device: unique per kind per project, from the host id and device name. */
export const deviceResourceName = (hostId: string, deviceName: string): string =>
  `${hostId}-${deviceName}`.replace(/[^A-Za-z0-9._-]/g, '-').replace(/-+$/, '').slice(0, 128);

/**
 * Turns an agent's hardware report into Inventory writes, only where something changed: the
 * host's `status.hardware` and its HostNic / HostStorage / HostGpu / HostUsb children, matched by
 * device name. An unchanged report writes nothing. Reports of one host are applied one at a time.
 */
export class HardwareSync {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly inventory: Inventory) {}

  /** Applies a report; resolves with the number of writes made. */
  apply(project: string, hostId: string, report: HardwareReport): Promise<number> {
    const prev = this.chains.get(hostId) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => this.diff(project, hostId, report));
    this.chains.set(hostId, next);
    void next.finally(() => {
      if (this.chains.get(hostId) === next) this.chains.delete(hostId);
    }).catch(() => {});
    return next;
  }

  private async diff(project: string, hostId: string, report: HardwareReport): Promise<number> {
    let writes = 0;
    const host = await this.inventory.get(project, 'Host', hostId);
    const hw = (host.status as { hardware?: Record<string, unknown> }).hardware;
    if (!jsonEqual(hw ?? {}, report.hardware)) {
      await this.inventory.updateStatus(project, 'Host', hostId, { hardware: replacePatch(hw, report.hardware) });
      writes++;
    }
    for (const { kind, field } of DEVICE_KINDS) {
      const existing = new Map<string, Resource>();
      for (const r of (await listAll(this.inventory, project, kind, { filter: `status.hostId = "${hostId}"` })).items) existing.set(String((r.status as { deviceName?: string }).deviceName), r as Resource);
      const seen = new Set<string>();
      for (const device of report[field] as Record<string, unknown>[]) {
        const name = String(device.deviceName);
        if (seen.has(name)) continue; // a report naming a device twice: the first wins
        seen.add(name);
        const status = { ...device, hostId };
        const cur = existing.get(name);
        if (!cur) {
          await this.inventory.create(project, kind, { name: deviceResourceName(hostId, name), status });
          writes++;
        } else if (!jsonEqual(cur.status, status)) {
          await this.inventory.updateStatus(project, kind, cur.id, replacePatch(cur.status, status));
          writes++;
        }
      }
      for (const [name, r] of existing) {
        if (seen.has(name)) continue;
        await this.inventory.delete(project, kind, r.id);
        writes++;
      }
    }
    return writes;
  }
}
