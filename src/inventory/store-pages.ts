import type { Resource } from '../api/index.ts';
import type { ListQuery, Store } from '../store/index.ts';

const BY_NAME = [{ field: ['name'], desc: false }];

/**
 * A store list read page by page in name order, each page within the query's byte budget (so
 * fewer than `limit` items when they are large), seeking on from the last (name, id) until the
 * store says no more follow. Nothing is counted.
 * @example for await (const rules of storePages(store, { project, kind: 'AlertRule', limit: 100, maxBytes })) seen.push(...rules.map((r) => r.id))
 */
export async function* storePages(store: Store, query: Omit<ListQuery, 'orderBy' | 'offset' | 'after' | 'knownTotal'>): AsyncGenerator<Resource[]> {
  let after: ListQuery['after'];
  for (;;) {
    const page = await store.list({ ...query, orderBy: BY_NAME, offset: 0, knownTotal: 0, ...(after ? { after } : {}) });
    const last = page.items.at(-1);
    if (last) yield page.items;
    if (!page.more || !last) return;
    after = { name: last.name, id: last.id };
  }
}
