import { NODE_CONFIG_TARGET_KEYS } from '../../api/index.ts';
import { Informer } from '../../client/index.ts';
import { InformerIndex } from '../shared/informer-index.ts';
import { RegionTree } from '../shared/region-tree.ts';
import { SelectorMembership } from '../shared/selector-membership.ts';
import type { Host, Instance, ManagerDeps } from '../shared/manager-deps.ts';
import type { CustomConfig, LocalAccount, NodeConfigLevel } from './effective-node-config.ts';

export type NodeConfigTopologyOptions = Pick<ManagerDeps, 'inventory' | 'project' | 'hosts' | 'instances' | 'instancesByHost' | 'regions' | 'sites'> & {
  onHandlerError?: (error: unknown) => void;
};

type Targeted = LocalAccount | CustomConfig;

/** The one id a resource's target names (NODE_CONFIG_TARGET_KEYS), or undefined. */
const targetOf = (r: Targeted): string | undefined => {
  const t = r.spec.target as Record<string, string | undefined> | undefined;
  // Selector-targeted resources are found through SelectorMembership, not by id.
  return t && t.selector === undefined ? NODE_CONFIG_TARGET_KEYS.map((k) => t[k]).find((v) => v !== undefined) : undefined;
};

/**
 * The node-config manager's view of where hosts sit: caches of local accounts and custom configs
 * over the shared host, instance, site and region caches, indexed to answer which accounts and
 * configs apply to a host, level by level (`levelsOf`), and which hosts a change concerns
 * (`onAffected`): a region's resources reach every host under it through nested regions and sites;
 * a site's its hosts; an instance's (its target, or its localAccountId and customConfigIds) its host.
 * @example const t = new NodeConfigTopology({ inventory, project, hosts, instances, instancesByHost, regions, sites }); t.onAffected((id) => queue.add(id)); t.start()
 */
export class NodeConfigTopology {
  readonly accounts: Informer<'LocalAccount', LocalAccount>;
  readonly configs: Informer<'CustomConfig', CustomConfig>;
  private readonly tree: RegionTree;
  private readonly accountsByTarget: InformerIndex<LocalAccount>;
  private readonly configsByTarget: InformerIndex<CustomConfig>;
  private readonly instancesByAccount: InformerIndex<Instance>;
  private readonly listeners: ((hostId: string) => void)[] = [];
  /** The hosts each selector-targeted account and config matches, as hosts change. */
  readonly selectors: SelectorMembership;

  constructor(private readonly o: NodeConfigTopologyOptions) {
    const base = { inventory: o.inventory, project: o.project, onHandlerError: o.onHandlerError };
    this.accounts = new Informer({ ...base, kind: 'LocalAccount' });
    this.configs = new Informer({ ...base, kind: 'CustomConfig' });
    this.tree = new RegionTree(o.regions, o.sites, o.hosts);
    this.accountsByTarget = new InformerIndex(this.accounts, targetOf);
    this.configsByTarget = new InformerIndex(this.configs, targetOf);
    this.instancesByAccount = new InformerIndex(o.instances, (i) => i.spec.localAccountId);
    this.selectors = new SelectorMembership(o.hosts);
    // Membership first, so hostsOf answers with the new set; a host that starts or stops matching gains or loses the resource.
    const follow = <R extends Targeted>(informer: Informer<string, R>) =>
      informer.on({
        add: (r) => this.selectors.set(r.id, r.project, r.spec.target?.selector),
        update: (a, b) => {
          const before = this.hostsOf(a);
          this.selectors.set(b.id, b.project, b.spec.target?.selector);
          if (a.spec.target?.selector !== undefined) this.emit(before);
        },
        delete: (r) => {
          const before = this.hostsOf(r);
          this.selectors.set(r.id, r.project, undefined);
          this.emit(before);
        },
      });
    follow(this.accounts);
    follow(this.configs);
    this.selectors.onChange(({ hostIds }) => this.emit(hostIds));

    // Registered after the indexes' own handlers, so the indexes are current when these run.
    o.regions.on({
      add: (r) => this.emit(this.hostsUnderRegion(r.id)),
      update: (a, b) => a.spec.parentRegionId !== b.spec.parentRegionId && this.emit(this.hostsUnderRegion(b.id)),
      delete: (r) => this.emit(this.hostsUnderRegion(r.id)),
    });
    o.sites.on({
      add: (s) => this.emit(this.tree.hostsOfSite(s.id)),
      update: (a, b) => a.spec.regionId !== b.spec.regionId && this.emit(this.tree.hostsOfSite(b.id)),
      delete: (s) => this.emit(this.tree.hostsOfSite(s.id)),
    });
    const onResource = <R extends Targeted>(informer: Informer<string, R>) =>
      informer.on({
        add: (r) => this.emit(this.hostsOf(r)),
        update: (a, b) => a.generation !== b.generation && this.emit([...this.hostsOf(a), ...this.hostsOf(b)]),
        delete: (r) => this.emit(this.hostsOf(r)),
      });
    onResource(this.accounts);
    onResource(this.configs);
    o.instances.on({
      add: (i) => this.emit([i.spec.hostId]),
      update: (a, b) => a.generation !== b.generation && this.emit(new Set([a.spec.hostId, b.spec.hostId])),
      delete: (i) => this.emit([i.spec.hostId]),
    });
  }

  /** Every cache it reads holds its first list. */
  get synced(): Promise<void> {
    return Promise.all([this.o.regions.synced, this.o.sites.synced, this.accounts.synced, this.configs.synced]).then(() => undefined);
  }

  onAffected(fn: (hostId: string) => void): void {
    this.listeners.push(fn);
  }

  /** Starts its own caches (the shared ones are their owner's). */
  start(): void {
    this.accounts.start();
    this.configs.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.accounts.stop(), this.configs.stop()]);
  }

  /** What applies to a host, from least to most specific: root region … site's region, site, instances. */
  levelsOf(host: Host): NodeConfigLevel[] {
    const levels: NodeConfigLevel[] = [];
    const targeted = (id: string) => ({ accounts: this.accountsByTarget.get(id).map(viaTarget), configs: this.configsByTarget.get(id).map(viaTarget) });
    const site = host.spec.siteId ? this.o.sites.get(host.spec.siteId) : undefined;
    if (site) {
      const chain: string[] = [];
      const seen = new Set<string>();
      // A cycle cannot be stored, but a cache caught mid-change must not loop.
      for (let id: string | undefined = site.spec.regionId; id && !seen.has(id); id = this.o.regions.get(id)?.spec.parentRegionId) {
        seen.add(id);
        chain.unshift(id);
      }
      for (const id of chain) levels.push({ level: 'region', targetId: id, ...targeted(id) });
      levels.push({ level: 'site', targetId: site.id, ...targeted(site.id) });
    }
    // Each selector-targeted resource is a level of its own between the site and the instances; the newer is the more specific.
    const selected = [...this.selectors.ownersOf(host.id)].map((id) => this.accounts.get(id) ?? this.configs.get(id)).filter((r): r is Targeted => r !== undefined);
    for (const r of selected.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))) {
      const one = [{ resource: r, via: 'target' as const }];
      levels.push(r.kind === 'LocalAccount' ? { level: 'selector', targetId: r.spec.target!.selector!, accounts: one as NodeConfigLevel['accounts'], configs: [] } : { level: 'selector', targetId: r.spec.target!.selector!, accounts: [], configs: one as NodeConfigLevel['configs'] });
    }
    for (const inst of [...this.o.instancesByHost.get(host.id)].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (inst.spec.desiredState === 'deleted') continue;
      const own = targeted(inst.id);
      const account = inst.spec.localAccountId ? this.accounts.get(inst.spec.localAccountId) : undefined;
      const configs = (inst.spec.customConfigIds ?? []).map((id) => this.configs.get(id)).filter((c): c is CustomConfig => c !== undefined);
      levels.push({
        level: 'instance', targetId: inst.id,
        accounts: [...own.accounts, ...(account ? [{ resource: account, via: 'instance' as const }] : [])],
        configs: [...own.configs, ...configs.map((resource) => ({ resource, via: 'instance' as const }))],
      });
    }
    return levels;
  }

  /** Hosts whose sites lie in the region or any region nested in it. */
  hostsUnderRegion(regionId: string): string[] {
    return this.tree.hostsUnderRegion(regionId);
  }

  /** The hosts a resource reaches: through its target, and through the instances that name it. */
  private hostsOf(r: Targeted): string[] {
    const out: string[] = [];
    const t = (r.spec.target ?? {}) as { regionId?: string; siteId?: string; instanceId?: string; selector?: string };
    if (t.selector !== undefined) out.push(...this.selectors.matched(r.id));
    if (t.regionId) out.push(...this.hostsUnderRegion(t.regionId));
    if (t.siteId) out.push(...this.tree.hostsOfSite(t.siteId));
    if (t.instanceId) {
      const hostId = this.o.instances.get(t.instanceId)?.spec.hostId;
      if (hostId) out.push(hostId);
    }
    const naming = r.kind === 'LocalAccount' ? this.instancesByAccount.get(r.id) : this.o.instances.list().filter((i) => i.spec.customConfigIds?.includes(r.id));
    for (const i of naming) out.push(i.spec.hostId);
    return out;
  }

  private emit(hostIds: Iterable<string>): void {
    for (const id of hostIds) for (const fn of this.listeners) fn(id);
  }
}

const viaTarget = <R>(resource: R) => ({ resource, via: 'target' as const });
