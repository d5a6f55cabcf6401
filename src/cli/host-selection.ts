import type { Resource } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { resolveKind } from './kind-resolver.ts';
import { findResource, listMatching } from './resource-lookup.ts';
import { UsageError } from './usage-error.ts';

/** Which hosts a bulk command acts on: named ones, or those matching the selectors (all of them). */
export interface HostSelector {
  ids: string[];
  filter?: string;
  /** A site id or name: its hosts. */
  site?: string;
  /** A region id or name: the hosts of its sites. */
  region?: string;
}

/** True when the hosts come from selectors rather than by name: changing them needs confirming. */
export const bySelector = (s: HostSelector) => s.ids.length === 0;

/**
 * The hosts a selector names. Region: the region's sites are listed first and hosts kept whose
 * site is one of them (a filter could not hold thousands of site ids).
 * @example await selectHosts(inv, 'default', { ids: [], site: 'berlin-1', filter: 'labels.line = "3"' })
 */
export async function selectHosts(inv: InventoryClient, project: string, s: HostSelector): Promise<Resource[]> {
  const hostDef = resolveKind('Host');
  if (s.ids.length > 0) {
    if (s.filter !== undefined || s.site || s.region) throw new UsageError('give host IDs or --filter/--site/--region, not both');
    return Promise.all(s.ids.map((id) => findResource(inv, project, hostDef, id)));
  }
  if (s.filter === undefined && !s.site && !s.region) throw new UsageError('name the hosts: give IDs, --filter, --site or --region');
  const clauses = s.filter?.trim() ? [`(${s.filter})`] : [];
  if (s.site) clauses.push(`spec.siteId = ${JSON.stringify((await findResource(inv, project, resolveKind('Site'), s.site)).id)}`);
  const { items } = await listMatching(inv, project, hostDef, { filter: clauses.join(' AND ') || undefined, orderBy: 'name' });
  if (!s.region) return items;
  const region = await findResource(inv, project, resolveKind('Region'), s.region);
  const sites = await listMatching(inv, project, resolveKind('Site'), { filter: `spec.regionId = ${JSON.stringify(region.id)}` });
  const siteIds = new Set(sites.items.map((site) => site.id));
  return items.filter((h) => siteIds.has(h.spec.siteId as string));
}
