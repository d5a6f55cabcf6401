import type { Resource } from '../api/resource.ts';
import { regionChain } from './region-chain.ts';
import type { ResourceStore } from './resource-store.ts';

/**
 * How many hosts each possible schedule target covers: a host id counts its host, a site id the
 * hosts in it, a region id the hosts in its sites and in its sub-regions' (as the maintenance
 * manager resolves targets). One pass over the hosts, whatever the number of schedules.
 * @example hostsByTarget(store).get(schedule.spec.target.siteId) // 12
 */
export function hostsByTarget(store: Pick<ResourceStore, 'get' | 'all'>): Map<string, number> {
  const chains = new Map<string, string[]>();
  const counts = new Map<string, number>();
  const bump = (id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const h of store.all('Host').values()) {
    bump(h.id);
    const site = h.spec?.siteId as string | undefined;
    if (!site) continue;
    bump(site);
    let chain = chains.get(site);
    if (!chain) chains.set(site, (chain = regionChain(store, site)));
    for (const r of chain) bump(r);
  }
  return counts;
}

/** The id a schedule's target names (exactly one of hostId, siteId, regionId). */
export const targetId = (schedule: Resource): string | undefined => {
  const t = schedule.spec?.target ?? {};
  return t.hostId ?? t.siteId ?? t.regionId;
};
