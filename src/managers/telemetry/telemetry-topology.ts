import type { Inventory, Resource, ResourceOf } from '../../api/index.ts';
import { Informer } from '../../client/index.ts';
import { InformerIndex } from '../shared/informer-index.ts';
import { RegionTree } from '../shared/region-tree.ts';
import { SelectorMembership } from '../shared/selector-membership.ts';
import type { Host, Instance, Region, Site } from '../shared/manager-deps.ts';
import type { TelemetryGroup, TelemetryLevel, TelemetryProfile } from './effective-telemetry.ts';

export interface TelemetryTopologyOptions {
  inventory: Inventory;
  project: string;
  /** Shared with the other managers; their owner starts and stops them. */
  hosts: Informer<'Host', Host>;
  instances: Informer<'Instance', Instance>;
  instancesByHost: InformerIndex<Instance>;
  regions: Informer<'Region', Region>;
  sites: Informer<'Site', Site>;
  onHandlerError?: (error: unknown) => void;
}

/** The target of a profile: one of regionId, siteId, instanceId. */
const targetOf = (p: TelemetryProfile): string | undefined => p.spec.target.regionId ?? p.spec.target.siteId ?? p.spec.target.instanceId;

/**
 * The telemetry manager's view of where hosts sit: caches of telemetry profiles and groups (its
 * own) over the shared host, instance, site and region caches, with the indexes to answer two
 * questions fast: which profiles apply to a host, level by level (`levelsOf`), and which hosts a
 * change concerns (`onAffected`: a region's profile reaches every host under it through nested
 * regions and sites; a site's its hosts; an instance's its host; a group's every host whose
 * profiles use it; a site or region moving, the hosts under it).
 * @example const t = new TelemetryTopology({ inventory, project, hosts, instances, instancesByHost, regions, sites }); t.onAffected((hostId) => queue.add(hostId)); t.start()
 */
export class TelemetryTopology {
  readonly regions: Informer<'Region', Region>;
  readonly sites: Informer<'Site', Site>;
  readonly profiles: Informer<'TelemetryProfile', TelemetryProfile>;
  readonly groups: Informer<'TelemetryGroup', TelemetryGroup>;
  private readonly tree: RegionTree;
  private readonly profilesByTarget: InformerIndex<TelemetryProfile>;
  private readonly profilesByGroup: InformerIndex<TelemetryProfile>;
  private readonly listeners: ((hostId: string) => void)[] = [];
  /** The hosts each selector-targeted profile matches, as hosts change. */
  readonly selectors: SelectorMembership;

  constructor(private readonly o: TelemetryTopologyOptions) {
    const base = { inventory: o.inventory, project: o.project, onHandlerError: o.onHandlerError };
    this.regions = o.regions;
    this.sites = o.sites;
    this.profiles = new Informer({ ...base, kind: 'TelemetryProfile' });
    this.groups = new Informer({ ...base, kind: 'TelemetryGroup' });
    this.tree = new RegionTree(this.regions, this.sites, o.hosts);
    this.profilesByTarget = new InformerIndex(this.profiles, targetOf);
    this.profilesByGroup = new InformerIndex(this.profiles, (p) => p.spec.groupId);
    this.selectors = new SelectorMembership(o.hosts);
    // Membership first, so hostsOfProfile answers with the new set.
    this.profiles.on({
      add: (p) => this.selectors.set(p.id, p.project, p.spec.target.selector),
      update: (a, b) => {
        const before = this.hostsOfProfile(a);
        this.selectors.set(b.id, b.project, b.spec.target.selector);
        if (a.spec.target.selector !== undefined) this.emit(before);
      },
      delete: (p) => {
        const before = this.hostsOfProfile(p);
        this.selectors.set(p.id, p.project, undefined);
        this.emit(before);
      },
    });
    // A host that starts or stops matching gains or loses that profile's config.
    this.selectors.onChange(({ hostIds }) => this.emit(hostIds));

    // Handlers registered after the indexes' own, so the indexes are current when these run.
    this.regions.on({
      add: (r) => this.emit(this.hostsUnderRegion(r.id)),
      update: (a, b) => a.spec.parentRegionId !== b.spec.parentRegionId && this.emit(this.hostsUnderRegion(b.id)),
      delete: (r) => this.emit(this.hostsUnderRegion(r.id)),
    });
    this.sites.on({
      add: (s) => this.emit(this.tree.hostsOfSite(s.id)),
      update: (a, b) => a.spec.regionId !== b.spec.regionId && this.emit(this.tree.hostsOfSite(b.id)),
      delete: (s) => this.emit(this.tree.hostsOfSite(s.id)),
    });
    this.profiles.on({
      add: (p) => this.emit(this.hostsOfProfile(p)),
      update: (a, b) => a.generation !== b.generation && this.emit([...this.hostsOfProfile(a), ...this.hostsOfProfile(b)]),
      delete: (p) => this.emit(this.hostsOfProfile(p)),
    });
    const groupChanged = (g: TelemetryGroup) => this.emit(this.profilesByGroup.get(g.id).flatMap((p) => this.hostsOfProfile(p)));
    this.groups.on({ add: groupChanged, update: (a, b) => a.generation !== b.generation && groupChanged(b), delete: groupChanged });
    o.instances.on({
      add: (i) => this.emit([i.spec.hostId]),
      update: (a, b) => a.spec.hostId !== b.spec.hostId && this.emit([a.spec.hostId, b.spec.hostId]),
      delete: (i) => this.emit([i.spec.hostId]),
    });
  }

  /** Every cache it reads holds its first list. */
  get synced(): Promise<void> {
    return Promise.all([this.regions.synced, this.sites.synced, this.profiles.synced, this.groups.synced]).then(() => undefined);
  }

  /** Calls `fn` with each host id a change concerns (several times for one change is possible). */
  onAffected(fn: (hostId: string) => void): void {
    this.listeners.push(fn);
  }

  /** Starts its own caches (the shared ones are their owner's). */
  start(): void {
    for (const i of [this.profiles, this.groups]) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.profiles, this.groups].map((i) => i.stop()));
  }

  get cached(): { regions: number; sites: number; profiles: number; groups: number } {
    return { regions: this.regions.size, sites: this.sites.size, profiles: this.profiles.size, groups: this.groups.size };
  }

  /** The profiles that apply to a host, from least to most specific: root region … site's region, site, instances. */
  levelsOf(host: Host): TelemetryLevel[] {
    const levels: TelemetryLevel[] = [];
    const site = host.spec.siteId ? this.sites.get(host.spec.siteId) : undefined;
    if (site) {
      const chain: string[] = [];
      const seen = new Set<string>();
      // A cycle cannot be stored (parents must exist when set), but a cache caught mid-change must not loop.
      for (let id: string | undefined = site.spec.regionId; id && !seen.has(id); id = this.regions.get(id)?.spec.parentRegionId) {
        seen.add(id);
        chain.unshift(id);
      }
      for (const id of chain) levels.push({ level: 'region', targetId: id, profiles: this.profilesByTarget.get(id) });
      levels.push({ level: 'site', targetId: site.id, profiles: this.profilesByTarget.get(site.id) });
    }
    const selected = [...this.selectors.ownersOf(host.id)].map((id) => this.profiles.get(id)).filter((p): p is TelemetryProfile => p !== undefined);
    for (const p of selected.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))) {
      levels.push({ level: 'selector', targetId: p.spec.target.selector!, profiles: [p] });
    }
    for (const inst of [...this.o.instancesByHost.get(host.id)].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      levels.push({ level: 'instance', targetId: inst.id, profiles: this.profilesByTarget.get(inst.id) });
    }
    return levels;
  }

  group(id: string): TelemetryGroup | undefined {
    return this.groups.get(id);
  }

  /** Hosts whose sites lie in the region or any region nested in it. */
  hostsUnderRegion(regionId: string): string[] {
    return this.tree.hostsUnderRegion(regionId);
  }

  private hostsOfProfile(p: TelemetryProfile): string[] {
    const t = p.spec.target;
    if (t.selector !== undefined) return [...this.selectors.matched(p.id)];
    if (t.regionId) return this.hostsUnderRegion(t.regionId);
    if (t.siteId) return this.tree.hostsOfSite(t.siteId);
    const hostId = t.instanceId ? this.o.instances.get(t.instanceId)?.spec.hostId : undefined;
    return hostId ? [hostId] : [];
  }

  private emit(hostIds: Iterable<string>): void {
    for (const id of hostIds) for (const fn of this.listeners) fn(id);
  }
}
