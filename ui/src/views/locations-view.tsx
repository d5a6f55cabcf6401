import { useMemo } from 'preact/hooks';
import type { Resource } from '../api/resource.ts';
import { useFleet } from '../fleet.ts';
import { plural } from '../format.ts';
import { useStoreVersion } from '../hooks.ts';
import { locationHref } from '../state/location-filter.ts';
import { useHostSummary } from '../state/use-host-summary.ts';

interface RegionNode {
  region: Resource;
  children: RegionNode[];
  sites: Resource[];
  hosts: number;
}

/** Regions and sites as a tree, each with the hosts under it (a region counts its sub-regions' too). */
export function LocationsView() {
  const { store } = useFleet();
  const version = useStoreVersion(store, 500);
  // Hosts per site as the server counts them; a region adds up its sites and sub-regions.
  const bySite = useHostSummary('site');
  const { roots, perSite, unallocated } = useMemo(() => {
    const perSite = new Map<string, number>();
    let unallocated = 0;
    if (bySite) {
      for (const g of bySite.groups ?? []) {
        if (g.key === null) unallocated = g.total;
        else perSite.set(g.key, g.total);
      }
    } else {
      // Until the server's first answer: the console's own copy.
      for (const h of store.all('Host').values()) {
        const s = h.spec.siteId as string | undefined;
        if (s) perSite.set(s, (perSite.get(s) ?? 0) + 1);
        else unallocated++;
      }
    }
    const nodes = new Map<string, RegionNode>();
    for (const r of store.all('Region').values()) nodes.set(r.id, { region: r, children: [], sites: [], hosts: 0 });
    for (const s of store.all('Site').values()) nodes.get(s.spec.regionId)?.sites.push(s);
    const roots: RegionNode[] = [];
    for (const n of nodes.values()) {
      const parent = n.region.spec.parentRegionId ? nodes.get(n.region.spec.parentRegionId) : undefined;
      (parent ?? { children: roots }).children.push(n);
    }
    const total = (n: RegionNode, seen = new Set<RegionNode>()): number => {
      if (seen.has(n)) return 0;
      seen.add(n);
      n.hosts = n.sites.reduce((a, s) => a + (perSite.get(s.id) ?? 0), 0) + n.children.reduce((a, c) => a + total(c, seen), 0);
      n.children.sort((a, b) => a.region.name.localeCompare(b.region.name));
      n.sites.sort((a, b) => a.name.localeCompare(b.name));
      return n.hosts;
    };
    roots.sort((a, b) => a.region.name.localeCompare(b.region.name));
    for (const r of roots) total(r);
    return { roots, perSite, unallocated };
  }, [version, bySite]);
  return (
    <>
      <h1>Regions and sites</h1>
      {roots.length === 0 && <p class="muted">No regions yet: create one with eim create regions NAME.</p>}
      <ul class="tree" aria-label="Regions">
        {roots.map((n) => (
          <RegionItem key={n.region.id} node={n} perSite={perSite} />
        ))}
      </ul>
      <p>
        <a href="#/?category=unallocated">Unallocated hosts (no site)</a>: <strong data-testid="unallocated">{unallocated}</strong>
      </p>
    </>
  );
}

function RegionItem({ node, perSite }: { node: RegionNode; perSite: Map<string, number> }) {
  return (
    <li>
      <details open>
        <summary>
          <span class="kind">region</span> <a href={locationHref({ region: node.region.id })}>{node.region.name}</a> <span class="count-chip">{plural(node.hosts, 'host')}</span>
        </summary>
        <ul>
          {node.children.map((c) => (
            <RegionItem key={c.region.id} node={c} perSite={perSite} />
          ))}
          {node.sites.map((s) => (
            <li key={s.id}>
              <span class="kind">site</span> <a href={locationHref({ site: s.id })}>{s.name}</a> <span class="count-chip">{plural(perSite.get(s.id) ?? 0, 'host')}</span>
              {s.spec.address && <span class="muted small"> · {s.spec.address}</span>}
            </li>
          ))}
        </ul>
      </details>
    </li>
  );
}
