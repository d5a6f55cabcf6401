import { type HardwareReport, type Inventory, jsonEqual, listAll, type Resource } from '../../api/index.ts';

const DEVICE_KINDS = [
  { kind: 'HostNic', field: 'nics' },
  { kind: 'HostStorage', field: 'storages' },
  { kind: 'HostGpu', field: 'gpus' },
  { kind: 'HostUsb', field: 'usbs' },
] as const;

const KINDS = DEVICE_KINDS.map((d) => d.kind);
/** Devices read in one query: more than a report can name (HARDWARE_REPORT_LIMITS), so a full answer means more were made some other way. */
const DEVICES_READ_AT_ONCE = 1000;

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
 * device name. An unchanged report writes nothing; a changed one costs one write per changed item,
 * all submitted at once so the store's group commit puts them in one transaction (a few, past its
 * batch size). Reports of one host are applied one at a time.
 */
export class HardwareSync {
  private readonly chains = new Map<string, Promise<unknown>>();

  /**
   * @param devices reads a host's devices of every kind in one query (the store's `referringTo`,
   *   called with the project of the agent's token); without it, one list per kind.
   * @param readAtOnce what one query reads at most; a host with more (made some other way) is read
   *   kind by kind.
   */
  constructor(
    private readonly inventory: Inventory,
    private readonly devices?: (project: string, hostId: string, kinds: readonly string[], limit: number) => Promise<Resource[]>,
    private readonly readAtOnce = DEVICES_READ_AT_ONCE,
  ) {}

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
    const inv = this.inventory;
    const [host, children] = await Promise.all([inv.get(project, 'Host', hostId), this.devicesOf(project, hostId)]);
    // Removals first: a device renamed onto another's resource name frees it before the create.
    const removals: (() => Promise<unknown>)[] = [];
    const writes: (() => Promise<unknown>)[] = [];
    const hw = (host.status as { hardware?: Record<string, unknown> }).hardware;
    if (!jsonEqual(hw ?? {}, report.hardware)) writes.push(() => inv.updateStatus(project, 'Host', hostId, { hardware: replacePatch(hw, report.hardware) }));
    DEVICE_KINDS.forEach(({ kind, field }, i) => {
      const existing = new Map<string, Resource>();
      for (const r of children[i]) existing.set(String((r.status as { deviceName?: string }).deviceName), r as Resource);
      const seen = new Set<string>();
      const names = new Set<string>();
      for (const device of report[field] as Record<string, unknown>[]) {
        const name = String(device.deviceName);
        const resourceName = deviceResourceName(hostId, name);
        // A report naming a device twice, or two names that make one resource name: the first wins.
        if (seen.has(name) || (!existing.has(name) && names.has(resourceName))) continue;
        seen.add(name);
        names.add(resourceName);
        const status = { ...device, hostId };
        const cur = existing.get(name);
        if (!cur) writes.push(() => inv.create(project, kind, { name: resourceName, status }));
        else if (!jsonEqual(cur.status, status)) writes.push(() => inv.updateStatus(project, kind, cur.id, replacePatch(cur.status, status)));
      }
      for (const [name, r] of existing) if (!seen.has(name)) removals.push(() => inv.delete(project, kind, r.id));
    });
    const all = [...removals, ...writes];
    if (all.length === 0) return 0;
    const results = await Promise.allSettled(all.map((w) => w()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return all.length;
  }

  /** The host's current devices, per kind in DEVICE_KINDS order. */
  private async devicesOf(project: string, hostId: string): Promise<Resource[][]> {
    if (this.devices) {
      const rows = await this.devices(project, hostId, KINDS, this.readAtOnce);
      // More than a report can hold (made some other way): read them kind by kind, every page.
      if (rows.length < this.readAtOnce) return DEVICE_KINDS.map(({ kind }) => rows.filter((r) => r.kind === kind));
    }
    const lists = await Promise.all(DEVICE_KINDS.map(({ kind }) => listAll(this.inventory, project, kind, { filter: `status.hostId = ${JSON.stringify(hostId)}` })));
    return lists.map((l) => l.items as Resource[]);
  }
}
