import { isEimError, jsonEqual, type Resource } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, type Result, systemClock } from '../../reconcile/index.ts';
import { RegionTree } from '../shared/region-tree.ts';
import { controllerBase, type Host, type Instance, type ManagerDeps, type ManagerTuning, type Region, type Site } from '../shared/manager-deps.ts';
import { inheritLabels, type InheritedLabelSet, type LabelLevel, replacePatch } from './inherit-labels.ts';

export type InheritedLabelsManagerOptions = Pick<ManagerDeps, 'inventory' | 'project' | 'hosts' | 'instances' | 'instancesByHost' | 'regions' | 'sites'> &
  ManagerTuning & {
    /**
     * Reconciles at once per kind. One label change on a top region fans out into a status write
     * per host under it; with this many in flight, group commit stores them hundreds per
     * transaction instead of `workers` at a time. @default 256
     */
    labelWorkers?: number;
  };

export interface InheritedLabelsManagerStats {
  sites: ControllerStats;
  hosts: ControllerStats;
  instances: ControllerStats;
  /** status.inheritedLabels writes made. */
  writes: number;
}

type Labelled = Site | Host | Instance;

/** What the reconcile of a host or an instance reads of it: its labels, its parent, what it holds. */
const labelReads =
  <R extends Host | Instance>(parent: (r: R) => string | undefined) =>
  (r: R): unknown => [r.labels, parent(r), r.status.inheritedLabels, r.status.inheritedLabelSources];

/**
 * Writes `status.inheritedLabels` and `status.inheritedLabelSources` of sites, hosts and instances:
 * the labels of the region chain (root first), the site, the host and the resource itself, the
 * most specific winning a key (see `inheritLabels`). A write happens only when the set changes:
 * a region re-parented or relabelled reaches the sites, hosts and instances under it, and only
 * those; a site or host moved or relabelled, the resources below it. Computed from the caches, not
 * from the parents' written status, so a level never waits for the one above it.
 * @example const m = new InheritedLabelsManager({ inventory, project, hosts, instances, instancesByHost, regions, sites }); m.start(); … await m.stop()
 */
export class InheritedLabelsManager {
  readonly sites: Controller<'Site', Site>;
  readonly hosts: Controller<'Host', Host>;
  readonly instances: Controller<'Instance', Instance>;
  private readonly tree: RegionTree;
  private readonly clock: Clock;
  /** What this manager wrote last per resource, until the cache shows that write (or a later one). */
  private readonly written = new Map<string, { revision: number; set: InheritedLabelSet }>();
  private writes = 0;

  constructor(private readonly o: InheritedLabelsManagerOptions) {
    this.clock = o.clock ?? systemClock;
    this.tree = new RegionTree(o.regions, o.sites, o.hosts);
    const waitFor = Promise.all([o.regions.synced, o.sites.synced, o.hosts.synced, o.instances.synced]);
    const base = { ...controllerBase(o, this.clock), workers: o.labelWorkers ?? 256, waitFor };
    this.sites = new Controller({ ...base, name: 'inherited-labels-sites', kind: 'Site', informer: o.sites, reconcile: (ctx) => this.reconcile(ctx, (s) => this.siteLevels(s)) });
    this.hosts = new Controller({ ...base, name: 'inherited-labels-hosts', kind: 'Host', informer: o.hosts, reads: labelReads((h: Host) => h.spec.siteId), reconcile: (ctx) => this.reconcile(ctx, (h) => this.hostLevels(h)) });
    this.instances = new Controller({ ...base, name: 'inherited-labels-instances', kind: 'Instance', informer: o.instances, reads: labelReads((i: Instance) => i.spec.hostId), reconcile: (ctx) => this.reconcile(ctx, (i) => this.instanceLevels(i)) });

    // Each controller hears its own kind's changes; these carry a change down the hierarchy.
    const labelsOrParent = (a: Region | Site | Host, b: Region | Site | Host, parent: (x: never) => unknown) =>
      !jsonEqual(a.labels, b.labels) || parent(a as never) !== parent(b as never);
    o.regions.on({
      add: (r) => this.belowRegion(r.id),
      update: (a, b) => labelsOrParent(a, b, (r: Region) => r.spec.parentRegionId) && this.belowRegion(b.id),
      delete: (r) => this.belowRegion(r.id),
    });
    o.sites.on({ update: (a, b) => labelsOrParent(a, b, (s: Site) => s.spec.regionId) && this.belowSite(b.id) });
    o.hosts.on({ update: (a, b) => labelsOrParent(a, b, (h: Host) => h.spec.siteId) && this.belowHost(b.id) });
    for (const informer of [o.sites, o.hosts, o.instances] as Informer<string, Labelled>[]) informer.on({ delete: (x) => this.written.delete(x.id) });
  }

  start(): this {
    this.sites.start();
    this.hosts.start();
    this.instances.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.sites.stop(), this.hosts.stop(), this.instances.stop()]);
  }

  stats(): InheritedLabelsManagerStats {
    return { sites: this.sites.stats(), hosts: this.hosts.stats(), instances: this.instances.stats(), writes: this.writes };
  }

  /** The regions from the root down to `regionId` (a cache caught mid-change must not loop). */
  private chain(regionId: string | undefined): LabelLevel[] {
    const out: LabelLevel[] = [];
    const seen = new Set<string>();
    for (let id = regionId; id && !seen.has(id); ) {
      seen.add(id);
      const r = this.o.regions.get(id);
      if (!r) break;
      out.unshift({ id: r.id, labels: r.labels });
      id = r.spec.parentRegionId;
    }
    return out;
  }

  private siteLevels(site: Site): LabelLevel[] {
    return [...this.chain(site.spec.regionId), { id: site.id, labels: site.labels }];
  }

  private hostLevels(host: Host): LabelLevel[] {
    const site = host.spec.siteId ? this.o.sites.get(host.spec.siteId) : undefined;
    return [...(site ? this.siteLevels(site) : []), { id: host.id, labels: host.labels }];
  }

  private instanceLevels(inst: Instance): LabelLevel[] {
    const host = this.o.hosts.get(inst.spec.hostId);
    return [...(host ? this.hostLevels(host) : []), { id: inst.id, labels: inst.labels }];
  }

  private belowRegion(regionId: string): void {
    for (const site of this.tree.sitesUnderRegion(regionId)) {
      this.sites.queue.add(site);
      this.belowSite(site);
    }
  }

  private belowSite(siteId: string): void {
    for (const host of this.tree.hostsOfSite(siteId)) {
      this.hosts.queue.add(host);
      this.belowHost(host);
    }
  }

  private belowHost(hostId: string): void {
    for (const inst of this.o.instancesByHost.get(hostId)) this.instances.queue.add(inst.id);
  }

  private async reconcile<R extends Labelled>({ object }: ReconcileContext<R>, levels: (r: R) => LabelLevel[]): Promise<Result> {
    if (!object) return done();
    const next = inheritLabels(levels(object));
    const status = object.status as { inheritedLabels?: Record<string, string>; inheritedLabelSources?: Record<string, string> };
    const mine = this.written.get(object.id);
    // The cache may not show our last write yet: that write is what the resource holds.
    const held = mine && mine.revision > object.revision ? mine.set : { labels: status.inheritedLabels ?? {}, sources: status.inheritedLabelSources ?? {} };
    if (!(mine && mine.revision > object.revision)) this.written.delete(object.id);
    const labels = replacePatch(held.labels, next.labels);
    const sources = replacePatch(held.sources, next.sources);
    if (!labels && !sources) return done();
    try {
      const r: Resource = await this.o.inventory.updateStatus(object.project, object.kind, object.id, {
        ...(labels ? { inheritedLabels: labels } : {}),
        ...(sources ? { inheritedLabelSources: sources } : {}),
      });
      this.writes++;
      this.written.set(object.id, { revision: r.revision, set: next });
    } catch (e) {
      // Removed meanwhile (a forced delete): its DELETED event is on its way.
      if (!(isEimError(e) && e.code === 'not_found')) throw e;
    }
    return done();
  }
}
