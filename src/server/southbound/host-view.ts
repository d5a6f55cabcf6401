import { ALL_PROJECTS, type Inventory, listAll } from '../../api/index.ts';

/** What the store says about one host's connection, as far as this process has heard. */
export interface HostState {
  project: string;
  /** The revision this was read at: an older read never overwrites a newer one. */
  revision: number;
  /** status.hostStatus.message. */
  message?: string;
  /** status.maintenance.inWindow. */
  inWindow: boolean;
  /** status.lastSeenAt, in ms. */
  lastSeenAt?: number;
}

type HostLike = { id: string; project: string; revision: number; status: unknown };

/**
 * Every host's stored connection state, in this process's memory: loaded once, then kept by the
 * Host events of the watch every server runs (so it is the store's view, not this process's own).
 * Reads and events may arrive in any order: the newer revision wins.
 * @example const view = new HostView(); await view.load(inventory); view.apply(event.object)
 */
export class HostView {
  private readonly hosts = new Map<string, HostState>();

  /** Reads every host (all projects). */
  async load(inventory: Inventory): Promise<void> {
    for (const h of (await listAll(inventory, ALL_PROJECTS, 'Host')).items) this.apply(h);
  }

  /** Hears a host's newer state; returns the state before, or undefined when nothing changed. */
  apply(host: HostLike): HostState | undefined {
    const before = this.hosts.get(host.id);
    if (before && before.revision >= host.revision) return undefined;
    const s = host.status as { hostStatus?: { message?: string }; maintenance?: { inWindow?: boolean }; lastSeenAt?: string } | undefined;
    const seen = s?.lastSeenAt ? Date.parse(s.lastSeenAt) : NaN;
    this.hosts.set(host.id, { project: host.project, revision: host.revision, message: s?.hostStatus?.message, inWindow: s?.maintenance?.inWindow === true, ...(Number.isFinite(seen) ? { lastSeenAt: seen } : {}) });
    return before ?? { project: host.project, revision: 0, inWindow: false };
  }

  delete(hostId: string): void {
    this.hosts.delete(hostId);
  }

  get(hostId: string): HostState | undefined {
    return this.hosts.get(hostId);
  }

  entries(): IterableIterator<[string, HostState]> {
    return this.hosts.entries();
  }

  get size(): number {
    return this.hosts.size;
  }
}
