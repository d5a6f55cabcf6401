import type { InventoryEvent, Resource } from '../api/resource.ts';
import { HostCounts } from './host-counts.ts';

/**
 * The console's copy of the inventory: resources by kind and id, filled by a list and kept by the
 * watch stream. Applying is idempotent by revision, so events replayed after a list (or after a
 * resume) change nothing twice. Listeners hear once per batch (`notify`), not once per event.
 * @example store.replace('Host', items); store.apply(event); store.notify()
 */
export class ResourceStore {
  private readonly kinds = new Map<string, Map<string, Resource>>();
  /** Deleted ids and the revision of their deletion: a replayed older event must not bring one back. */
  private readonly deleted = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: InventoryEvent) => void>();
  readonly hostCounts = new HostCounts();
  /** Bumped on every change; views compare it to know whether to recompute. */
  version = 0;
  private dirty = false;

  /** `keep`: which resources to hold (a host page keeps only its host's devices). */
  constructor(private readonly keep: (r: Resource) => boolean = () => true) {}

  /** The resources of a kind (`Host`), by id. Read only. */
  all(kind: string): ReadonlyMap<string, Resource> {
    return this.map(kind);
  }

  get(kind: string, id: string): Resource | undefined {
    return this.kinds.get(kind)?.get(id);
  }

  /** Replaces a kind's resources with a fresh list. */
  replace(kind: string, items: readonly Resource[]): void {
    const m = this.map(kind);
    m.clear();
    if (kind === 'Host') this.hostCounts.clear();
    for (const r of items) {
      if (!this.keep(r)) continue;
      m.set(r.id, r);
      if (kind === 'Host') this.hostCounts.change(undefined, r);
    }
    this.changed();
  }

  /** Applies one event unless the store already holds that revision or a later one; true when something changed. */
  apply(e: InventoryEvent): boolean {
    const m = this.map(e.kind);
    const before = m.get(e.id);
    let after: Resource | undefined;
    if (e.type === 'DELETED') {
      this.deleted.set(e.id, Math.max(e.revision, this.deleted.get(e.id) ?? 0));
      if (!before || before.revision >= e.revision) return this.heard(e, false);
    } else {
      if (before && before.revision >= e.object.revision) return this.heard(e, false);
      if ((this.deleted.get(e.id) ?? 0) >= e.object.revision) return this.heard(e, false);
      after = this.keep(e.object) ? e.object : undefined;
      if (!before && !after) return this.heard(e, false);
    }
    if (after) m.set(e.id, after);
    else m.delete(e.id);
    if (e.kind === 'Host') this.hostCounts.change(before, after);
    this.changed();
    return this.heard(e, true);
  }

  /** Tells listeners, once, that something changed since the last call. */
  notify(): void {
    if (!this.dirty) return;
    this.dirty = false;
    for (const l of this.listeners) l();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every event the stream brings that the store applied (a host page's history). */
  onEvent(listener: (e: InventoryEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private heard(e: InventoryEvent, applied: boolean): boolean {
    if (applied) for (const l of this.eventListeners) l(e);
    return applied;
  }

  private changed(): void {
    this.version++;
    this.dirty = true;
  }

  private map(kind: string): Map<string, Resource> {
    let m = this.kinds.get(kind);
    if (!m) this.kinds.set(kind, (m = new Map()));
    return m;
  }
}
