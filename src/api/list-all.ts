import type { Inventory, ListOptions } from './inventory.ts';
import type { ResourceOf } from './kind-types.ts';

/**
 * Every item of a list, following page tokens (pages of 1,000 unless `pageSize` says otherwise),
 * over any Inventory: the in-process one or the HTTP client. `revision` is the first page's.
 * @example const { items } = await listAll(inventory, ALL_PROJECTS, 'Host', { filter: 'status.maintenance.inWindow = true' })
 */
export async function listAll<N extends string>(
  inventory: Pick<Inventory, 'list'>,
  project: string,
  kind: N,
  options: Omit<ListOptions, 'pageToken'> = {},
): Promise<{ items: ResourceOf<N>[]; revision: number }> {
  const items: ResourceOf<N>[] = [];
  let token: string | undefined;
  let revision = 0;
  do {
    const page = await inventory.list(project, kind, { pageSize: 1000, ...options, pageToken: token });
    items.push(...page.items);
    revision = revision || page.revision;
    token = page.nextPageToken;
  } while (token);
  return { items, revision };
}
