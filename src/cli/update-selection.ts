import type { Resource } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { resolveKind } from './kind-resolver.ts';
import { findResource, listMatching } from './resource-lookup.ts';
import { UsageError } from './usage-error.ts';

/** Which instances `eim update start|abort` act on. */
export interface InstanceSelector {
  /** Instances by id or name. */
  ids: string[];
  /** AIP-160 filter on instances. */
  filter?: string;
  /** Instances on the hosts this host selector (an AIP-160 filter over hosts, inheritedLabels.<key> included) matches, as the server evaluates it. */
  selector?: string;
  /** Instances on the hosts of this site / region (through its sites and nested regions' sites) / host. */
  site?: string;
  region?: string;
  host?: string;
}

/**
 * The instances a selector names, in name order, with their hosts. A host selector, site, region
 * and host select hosts first (`--region` covers its sites), then the instances on them;
 * `--filter` narrows the instances.
 * @example await selectInstances(inv, 'default', { ids: [], site: 'berlin-1' })
 */
export async function selectInstances(inv: InventoryClient, project: string, s: InstanceSelector): Promise<{ instances: Resource[]; hosts: Map<string, Resource> }> {
  const instDef = resolveKind('Instance');
  const hosts = new Map<string, Resource>();
  if (s.ids.length > 0) {
    if (s.filter !== undefined || s.selector !== undefined || s.site || s.region || s.host) throw new UsageError('give instance IDs or --filter/--selector/--site/--region/--host, not both');
    const instances = await Promise.all(s.ids.map((id) => findResource(inv, project, instDef, id)));
    for (const i of instances) hosts.set(i.spec.hostId as string, await inv.get(project, 'Host', i.spec.hostId as string));
    return { instances, hosts };
  }
  if (s.filter === undefined && s.selector === undefined && !s.site && !s.region && !s.host) throw new UsageError('name the instances: give IDs, --filter, --selector, --site, --region or --host');
  let hostIds: Set<string> | undefined;
  if (s.selector !== undefined && !s.selector.trim()) throw new UsageError('--selector is empty: give an AIP-160 filter over hosts, e.g. \'inheritedLabels.env = "canary"\'');
  if (s.site || s.region || s.host || s.selector !== undefined) {
    const hostDef = resolveKind('Host');
    // The selector is the server's filter over hosts: exactly the hosts a selector target would match.
    let selected = s.host ? [await findResource(inv, project, hostDef, s.host)] : (await listMatching(inv, project, hostDef, { filter: s.selector?.trim() || undefined })).items;
    if (s.host && s.selector !== undefined) {
      const { parseFilter, evaluateFilter } = await import('../api/filter.ts');
      const node = parseFilter(s.selector, hostDef);
      selected = selected.filter((h) => !node || evaluateFilter(node, h));
    }
    if (s.site) {
      const site = (await findResource(inv, project, resolveKind('Site'), s.site)).id;
      selected = selected.filter((h) => h.spec.siteId === site);
    }
    if (s.region) {
      const sites = await sitesUnder(inv, project, s.region);
      selected = selected.filter((h) => sites.has(h.spec.siteId as string));
    }
    hostIds = new Set(selected.map((h) => h.id));
    for (const h of selected) hosts.set(h.id, h);
  }
  const { items } = await listMatching(inv, project, instDef, { filter: s.filter?.trim() || undefined, orderBy: 'name' });
  const instances = hostIds ? items.filter((i) => hostIds.has(i.spec.hostId as string)) : items;
  const missing = [...new Set(instances.map((i) => i.spec.hostId as string))].filter((id) => !hosts.has(id));
  if (missing.length > 0) for (const h of (await listMatching(inv, project, resolveKind('Host'), {})).items) hosts.set(h.id, h);
  return { instances, hosts };
}

/** The ids of the sites in a region and in the regions nested in it, at any depth. */
async function sitesUnder(inv: InventoryClient, project: string, region: string): Promise<Set<string>> {
  const root = (await findResource(inv, project, resolveKind('Region'), region)).id;
  const regions = (await listMatching(inv, project, resolveKind('Region'), {})).items;
  const inside = new Set([root]);
  // Grow the set until no region's parent is newly inside (the API cannot make cycles; the bound guards anyway).
  for (let grew = true, rounds = 0; grew && rounds < 64; rounds++) {
    grew = false;
    for (const r of regions) {
      if (!inside.has(r.id) && inside.has(r.spec.parentRegionId as string)) grew = inside.add(r.id) !== undefined;
    }
  }
  const sites = (await listMatching(inv, project, resolveKind('Site'), {})).items;
  return new Set(sites.filter((x) => inside.has(x.spec.regionId as string)).map((x) => x.id));
}
