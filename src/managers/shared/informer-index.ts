import type { Resource } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';

/**
 * A secondary index over an informer's cache: resources by one of their fields (instances by
 * `spec.hostId`), kept current by the informer's handlers.
 * @example const byHost = new InformerIndex(instances, (i) => i.spec.hostId); byHost.get('host-0a1b2c3d')
 */
export class InformerIndex<R extends Resource> {
  private readonly ids = new Map<string, Set<string>>();
  /** The key each cached id is filed under, to move it when the field changes. */
  private readonly keyOfId = new Map<string, string>();

  constructor(
    private readonly informer: Informer<string, R>,
    private readonly keyOf: (obj: R) => string | undefined,
  ) {
    informer.on({ add: (o) => this.put(o), update: (_old, o) => this.put(o), delete: (o) => this.drop(o.id) });
    // A shared informer may hold objects already: their adds went out before we listened.
    for (const o of informer.list()) this.put(o);
  }

  /** The cached resources filed under `key`. */
  get(key: string): R[] {
    const out: R[] = [];
    for (const id of this.ids.get(key) ?? []) {
      const o = this.informer.get(id);
      if (o) out.push(o);
    }
    return out;
  }

  /** Ids filed under `key`. */
  idsOf(key: string): string[] {
    return [...(this.ids.get(key) ?? [])];
  }

  private put(o: R): void {
    const key = this.keyOf(o);
    const before = this.keyOfId.get(o.id);
    if (before === key) return;
    if (before !== undefined) this.drop(o.id);
    if (key === undefined) return;
    let set = this.ids.get(key);
    if (!set) this.ids.set(key, (set = new Set()));
    set.add(o.id);
    this.keyOfId.set(o.id, key);
  }

  private drop(id: string): void {
    const key = this.keyOfId.get(id);
    if (key === undefined) return;
    this.keyOfId.delete(id);
    const set = this.ids.get(key);
    set?.delete(id);
    if (set?.size === 0) this.ids.delete(key);
  }
}
