import { kindById, type KindDef, type Resource } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';

/** Ids asked for in one list request: `id = "…" OR …` stays well under the filter's 4096 characters. */
const IDS_PER_REQUEST = 150;
/** More unknown ids of one kind than this: list the whole kind once instead of asking by id. */
const LIST_ALL_ABOVE = 600;
/** Names kept per command: a bound on memory whatever the fleet's size. */
const MAX_NAMES = 200_000;

/**
 * The names of resources that others refer to by id, fetched as lists, never one GET per row: the
 * unknown ids of each kind in batches (`id = "a" OR id = "b" …`), or, when a table refers to many
 * resources of a kind, the whole kind in one paged list. Remembers what it learned, so a table
 * printed page by page asks only for ids it has not seen.
 * @example const names = new ReferenceNames(inv, 'default'); await names.load(['site-0a1b2c3d']); names.nameOf('site-0a1b2c3d') // 'berlin-1'
 */
export class ReferenceNames {
  private readonly names = new Map<string, string>();
  /** Ids looked for and not found (deleted meanwhile): not asked for again. */
  private readonly missing = new Set<string>();
  private readonly complete = new Set<string>();
  /** List requests made, for tests and to keep this honest. */
  requests = 0;

  constructor(private readonly inv: InventoryClient, private readonly project: string) {}

  /** The name of the resource with this id, when it was loaded. */
  readonly nameOf = (id: string): string | undefined => this.names.get(id);

  /** Remembers resources already at hand (their names need no request). */
  remember(items: readonly Resource[]): void {
    for (const r of items) if (this.names.size < MAX_NAMES) this.names.set(r.id, r.name);
  }

  /** Fetches the names of the ids not known yet: one list per kind (per 150 ids). Unknown id formats are skipped. */
  async load(ids: Iterable<string>): Promise<void> {
    const byKind = new Map<KindDef, Set<string>>();
    for (const id of ids) {
      if (this.names.has(id) || this.missing.has(id)) continue;
      const def = kindById(id);
      if (!def || this.complete.has(def.kind)) continue;
      let set = byKind.get(def);
      if (!set) byKind.set(def, (set = new Set()));
      set.add(id);
    }
    await Promise.all([...byKind].map(([def, set]) => this.loadKind(def, [...set])));
  }

  private async loadKind(def: KindDef, ids: string[]): Promise<void> {
    if (ids.length > LIST_ALL_ABOVE) {
      let pageToken: string | undefined;
      do {
        const page = await this.inv.list(this.project, def.kind, { pageSize: 1000, pageToken });
        this.requests++;
        this.remember(page.items);
        pageToken = page.nextPageToken;
      } while (pageToken && this.names.size < MAX_NAMES);
      this.complete.add(def.kind);
    } else {
      for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
        const batch = ids.slice(i, i + IDS_PER_REQUEST);
        // Ids reach the filter only as quoted string literals (JSON.stringify escapes anything odd).
        const filter = batch.map((id) => `id = ${JSON.stringify(id)}`).join(' OR ');
        // A page of big resources holds fewer than asked (the server's byte budget): its token leads on.
        let pageToken: string | undefined;
        do {
          const page = await this.inv.list(this.project, def.kind, { filter, pageSize: batch.length, pageToken });
          this.requests++;
          this.remember(page.items);
          pageToken = page.nextPageToken;
        } while (pageToken);
      }
    }
    for (const id of ids) if (!this.names.has(id)) this.missing.add(id);
  }
}
