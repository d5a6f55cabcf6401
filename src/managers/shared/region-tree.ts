import type { Informer } from '../../client/index.ts';
import { InformerIndex } from './informer-index.ts';
import type { Host, Region, Site } from './manager-deps.ts';

/**
 * The region → site → host tree over the shared caches: which sites lie under a region (its nested
 * regions' too) and which hosts under a region or a site. One walk for every manager whose
 * resources target a region (telemetry profiles, node configuration, inherited labels).
 * @example const tree = new RegionTree(regions, sites, hosts); tree.hostsUnderRegion(region.id)
 */
export class RegionTree {
  private readonly regionsByParent: InformerIndex<Region>;
  private readonly sitesByRegion: InformerIndex<Site>;
  private readonly hostsBySite: InformerIndex<Host>;

  constructor(regions: Informer<'Region', Region>, sites: Informer<'Site', Site>, hosts: Informer<'Host', Host>) {
    this.regionsByParent = new InformerIndex(regions, (r) => r.spec.parentRegionId);
    this.sitesByRegion = new InformerIndex(sites, (s) => s.spec.regionId);
    this.hostsBySite = new InformerIndex(hosts, (h) => h.spec.siteId);
  }

  /** Sites of the region and of every region nested in it (a parent cycle is walked once). */
  sitesUnderRegion(regionId: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const todo = [regionId];
    while (todo.length > 0) {
      const r = todo.pop()!;
      if (seen.has(r)) continue;
      seen.add(r);
      out.push(...this.sitesByRegion.idsOf(r));
      todo.push(...this.regionsByParent.idsOf(r));
    }
    return out;
  }

  /** Hosts whose sites lie in the region or any region nested in it. */
  hostsUnderRegion(regionId: string): string[] {
    return this.sitesUnderRegion(regionId).flatMap((site) => this.hostsBySite.idsOf(site));
  }

  /** Hosts of one site. */
  hostsOfSite(siteId: string): string[] {
    return this.hostsBySite.idsOf(siteId);
  }
}
