import type { Resource } from '../../api/index.ts';
import { evaluateFilter, type FilterNode } from '../../api/filter.ts';
import type { Informer } from '../../client/index.ts';
import type { Host, Instance, Region, Site } from '../shared/manager-deps.ts';

/** Where a resource sits: its host, site and region chain (nearest first), when it has them. */
export interface Place {
  host?: Host;
  site?: Site;
  /** The site's region, then its parents (for a Region: itself first). */
  regions: Region[];
}

export interface AlertTopologyOptions {
  hosts: Informer<'Host', Host>;
  instances: Informer<'Instance', Instance>;
  sites: Informer<'Site', Site>;
  regions: Informer<'Region', Region>;
  /** Update runs (their instance leads to the host). */
  runs?: Informer<string, Resource>;
}

const MAX_DEPTH = 64;

/**
 * Finds a resource's host, site and regions from the shared caches, the way schedules and
 * telemetry profiles inherit: a region covers its sub-regions, their sites and their hosts.
 * @example topology.placeOf(instance).site?.name
 */
export class AlertTopology {
  /** A site's region chain, valid while neither cache moved on (sites and regions change rarely). */
  private readonly chains = new Map<string, { stamp: string; regions: Region[] }>();

  constructor(private readonly o: AlertTopologyOptions) {}

  placeOf(r: Resource): Place {
    const host = this.hostOf(r);
    const site = r.kind === 'Site' ? (r as Site) : host?.spec.siteId ? this.o.sites.get(host.spec.siteId) : undefined;
    if (r.kind === 'Region') return { host, site, regions: this.chain(r.id) };
    if (!site) return { host, site, regions: [] };
    const stamp = `${this.o.sites.revision}/${this.o.regions.revision}`;
    const hit = this.chains.get(site.id);
    if (hit?.stamp === stamp) return { host, site, regions: hit.regions };
    if (this.chains.size > 100_000) this.chains.clear();
    const regions = this.chain(site.spec.regionId);
    this.chains.set(site.id, { stamp, regions });
    return { host, site, regions };
  }

  private chain(start: string | undefined): Region[] {
    const regions: Region[] = [];
    const seen = new Set<string>();
    for (let id = start; id && !seen.has(id) && regions.length < MAX_DEPTH; ) {
      seen.add(id);
      const region = this.o.regions.get(id);
      if (!region) break;
      regions.push(region);
      id = region.spec.parentRegionId;
    }
    return regions;
  }

  hostOf(r: Resource): Host | undefined {
    const spec = r.spec as Record<string, unknown>;
    const status = r.status as Record<string, unknown>;
    switch (r.kind) {
      case 'Host':
        return r as Host;
      case 'Instance':
        return this.o.hosts.get(spec.hostId as string);
      case 'OsUpdateRun': {
        const inst = this.o.instances.get(status.instanceId as string);
        return inst ? this.o.hosts.get(inst.spec.hostId) : undefined;
      }
      default: {
        const id = (spec?.hostId ?? status?.hostId) as string | undefined;
        return typeof id === 'string' ? this.o.hosts.get(id) : undefined;
      }
    }
  }

  /** Whether a rule's target covers a place (no target: everything). */
  covers(target: { regionId?: string; siteId?: string; hostId?: string } | undefined, selector: FilterNode | undefined, place: Place): boolean {
    if (!target) return true;
    if (target.hostId) return place.host?.id === target.hostId;
    if (target.siteId) return place.site?.id === target.siteId;
    if (target.regionId) return place.regions.some((r) => r.id === target.regionId);
    if (selector) return place.host !== undefined && evaluateFilter(selector, place.host);
    return false;
  }
}
