import type { Resource } from '../api/resource.ts';
import type { ResourceStore } from './resource-store.ts';

/** A drill-down from the regions and sites view: the hosts of one site, or of every site under a region. */
export type LocationFilter = { site: string } | { region: string };

/**
 * The location a hash route's query asks for: `#/?site=site-0a1b2c3d` or `#/?region=region-…`.
 * @example locationOf('/?site=site-0a1b2c3d') // { site: 'site-0a1b2c3d' }
 */
export function locationOf(route: string): LocationFilter | undefined {
  const q = new URLSearchParams(route.split('?')[1] ?? '');
  const site = q.get('site');
  if (site) return { site };
  const region = q.get('region');
  return region ? { region } : undefined;
}

/** The hash route of the host list filtered by a location. */
export const locationHref = (l: LocationFilter): string => ('site' in l ? `#/?site=${encodeURIComponent(l.site)}` : `#/?region=${encodeURIComponent(l.region)}`);

/**
 * The sites a location covers: the site itself, or every site in the region and its sub-regions
 * (a cycle in the region tree stops the walk).
 * @example sitesOf(store, { region: 'region-emea' }) // Set { 'site-plant-1', 'site-plant-2' }
 */
export function sitesOf(store: Pick<ResourceStore, 'all'>, l: LocationFilter): Set<string> {
  if ('site' in l) return new Set([l.site]);
  const children = new Map<string, string[]>();
  for (const r of store.all('Region').values()) {
    const parent = r.spec.parentRegionId as string | undefined;
    if (parent) children.set(parent, [...(children.get(parent) ?? []), r.id]);
  }
  const regions = new Set<string>();
  const walk = (id: string) => {
    if (regions.has(id)) return;
    regions.add(id);
    for (const c of children.get(id) ?? []) walk(c);
  };
  walk(l.region);
  const sites = new Set<string>();
  for (const s of store.all('Site').values()) if (regions.has(s.spec.regionId as string)) sites.add(s.id);
  return sites;
}

/** The location's name in words: `site plant-1`, `region emea`. */
export function locationName(store: Pick<ResourceStore, 'get'>, l: LocationFilter): string {
  const [kind, id] = 'site' in l ? ['Site', l.site] : ['Region', l.region];
  const r: Resource | undefined = store.get(kind, id);
  return `${kind.toLowerCase()} ${r?.name ?? id}`;
}
