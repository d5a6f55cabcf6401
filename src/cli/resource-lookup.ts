import { EimError, type KindDef, kindById, type Resource } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { kindLabel } from './kind-resolver.ts';

/**
 * One resource by id, or by name when the text is not an id of that kind.
 * @example await findResource(inv, 'default', hostDef, 'edge-01')
 */
export async function findResource(inv: InventoryClient, project: string, def: KindDef, idOrName: string): Promise<Resource> {
  if (kindById(idOrName)?.kind === def.kind) return inv.get(project, def.kind, idOrName);
  const found = await findByName(inv, project, def, idOrName);
  if (!found) throw new EimError('not_found', `no ${kindLabel(def)} with id or name "${idOrName}" in project ${project}`);
  return found;
}

/** The resource of that kind and name, or undefined when there is none. */
export async function findByName(inv: InventoryClient, project: string, def: KindDef, name: string): Promise<Resource | undefined> {
  const page = await inv.list(project, def.kind, { filter: `name = ${JSON.stringify(name)}`, pageSize: 1 });
  return page.items[0];
}

/** What to list: a filter, an order, at most `limit` resources, pages of `pageSize`. */
export interface ListSelection {
  filter?: string;
  orderBy?: string;
  limit?: number;
  /** @default 1000 */
  pageSize?: number;
  /** A smaller first page, to show something at once. @default pageSize */
  firstPageSize?: number;
}

/** One page of listPages: its items, the revision of the first page, and (on the last page) what was left out. */
export interface ListedPage {
  items: Resource[];
  revision: number;
  /** Set on the page that reached `limit` while the server had more: how many match in all. */
  more?: { total: number };
}

/**
 * The pages of a list as they arrive (so a long table starts printing at once), following page
 * tokens, stopping at `limit` (the page that reaches it says whether more exist). Every page
 * carries the revision of the first.
 * @example for await (const page of listPages(inv, 'default', hostDef, { filter })) print(page.items)
 */
export async function* listPages(inv: InventoryClient, project: string, def: KindDef, o: ListSelection): AsyncGenerator<ListedPage> {
  let seen = 0;
  let revision = 0;
  let pageToken: string | undefined;
  do {
    const size = (seen === 0 && !pageToken ? o.firstPageSize : undefined) ?? o.pageSize ?? 1000;
    const want = Math.min(size, o.limit === undefined ? Infinity : o.limit - seen);
    const page = await inv.list(project, def.kind, { filter: o.filter, orderBy: o.orderBy, pageSize: want, pageToken });
    revision ||= page.revision;
    const items = o.limit === undefined ? page.items : page.items.slice(0, o.limit - seen);
    seen += items.length;
    pageToken = page.nextPageToken;
    const cut = o.limit !== undefined && seen >= o.limit && (!!pageToken || items.length < page.items.length);
    yield { items, revision, ...(cut ? { more: { total: Math.max(page.totalSize, seen + 1) } } : {}) };
    if (cut) return;
  } while (pageToken && (o.limit === undefined || seen < o.limit));
}

/**
 * Every resource matching a filter, in one array.
 * @example await listMatching(inv, 'default', hostDef, { filter: 'labels.line = "3"' })
 */
export async function listMatching(inv: InventoryClient, project: string, def: KindDef, o: ListSelection): Promise<{ items: Resource[]; revision: number; more?: { total: number } }> {
  const items: Resource[] = [];
  let revision = 0;
  let more: { total: number } | undefined;
  for await (const page of listPages(inv, project, def, o)) {
    items.push(...page.items);
    revision = page.revision;
    more = page.more;
  }
  return { items, revision, ...(more ? { more } : {}) };
}
