import type { ResourceStore } from './resource-store.ts';

/**
 * The regions a site sits in, innermost first (a cycle stops the walk).
 * @example regionChain(store, 'site-0a1b2c3d') // ['region-…west', 'region-…emea']
 */
export function regionChain(store: Pick<ResourceStore, 'get'>, siteId: string | undefined): string[] {
  const out: string[] = [];
  let r = siteId ? store.get('Site', siteId)?.spec.regionId : undefined;
  while (r && !out.includes(r)) {
    out.push(r);
    r = store.get('Region', r)?.spec.parentRegionId;
  }
  return out;
}
