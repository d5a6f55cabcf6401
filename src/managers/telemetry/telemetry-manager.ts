import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, type Result, systemClock } from '../../reconcile/index.ts';
import { controllerBase, type Host, type ManagerDeps, type ManagerTuning } from '../shared/manager-deps.ts';
import { canonicalJson, effectiveTelemetry, type TelemetryProfile } from './effective-telemetry.ts';
import { TelemetryTopology } from './telemetry-topology.ts';

export type TelemetryManagerOptions = Pick<ManagerDeps, 'inventory' | 'project' | 'hosts' | 'instances' | 'instancesByHost' | 'regions' | 'sites'> & ManagerTuning;

export interface TelemetryManagerStats extends ControllerStats {
  /** status.telemetry writes made. */
  writes: number;
}

/**
 * Computes each host's effective telemetry config (see `effectiveTelemetry` for the merge rule) and
 * writes it to `status.telemetry` { version, config, sources } when it changed, and only then: an
 * unchanged config is never rewritten, also not after a restart. The southbound layer pushes a new
 * version to the host's agent; the agent's report of what it applied lands in `appliedVersion`.
 *
 * A host no profile ever applied to gets no `telemetry` field. A host that had one and lost its
 * last profile gets an empty config (its own version), so its agent is told to stop collecting.
 * @example const m = new TelemetryManager({ inventory, project, hosts, instances, instancesByHost, regions, sites }); m.start(); … await m.stop()
 */
export class TelemetryManager {
  readonly controller: Controller<'Host', Host>;
  /** Writes a selector profile's status.matchedHosts. */
  readonly profileController: Controller<'TelemetryProfile', TelemetryProfile>;
  readonly topology: TelemetryTopology;
  private readonly clock: Clock;
  /** What this manager wrote last per host, until the cache shows that write (or a later one). */
  private readonly written = new Map<string, { revision: number; key: string }>();
  private writes = 0;

  constructor(private readonly o: TelemetryManagerOptions) {
    this.clock = o.clock ?? systemClock;
    const onHandlerError = o.onError ? (e: unknown) => o.onError!(e) : undefined;
    this.topology = new TelemetryTopology({ ...o, onHandlerError });
    this.controller = new Controller({
      name: 'telemetry-manager',
      ...controllerBase(o, this.clock),
      kind: 'Host',
      informer: o.hosts,
      // Sites, regions, profiles, instances and selector membership reach it through the topology.
      reads: (h) => [h.spec.desiredState, h.spec.siteId, h.status.telemetry],
      waitFor: Promise.all([o.hosts.synced, o.instances.synced, this.topology.synced]),
      reconcile: (ctx) => this.reconcile(ctx),
    });
    this.topology.onAffected((hostId) => this.controller.queue.add(hostId));
    this.profileController = new Controller({
      name: 'telemetry-profiles',
      ...controllerBase(o, this.clock),
      kind: 'TelemetryProfile',
      informer: this.topology.profiles,
      waitFor: Promise.all([o.hosts.synced, this.topology.synced]),
      reconcile: (ctx) => this.reconcileProfile(ctx),
    });
    this.topology.selectors.onChange(({ ownerId }) => this.profileController.queue.add(ownerId));
    o.hosts.on({ delete: (h) => this.written.delete(h.id) });
  }

  start(): this {
    this.topology.start();
    this.controller.start();
    this.profileController.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.controller.stop(), this.profileController.stop()]);
    await this.topology.stop();
  }

  stats(): TelemetryManagerStats {
    return { ...this.controller.stats(), writes: this.writes };
  }

  private async reconcileProfile({ object: p }: ReconcileContext<TelemetryProfile>): Promise<Result> {
    if (!p) return done();
    const want = p.spec.target.selector !== undefined ? this.topology.selectors.matched(p.id).size : undefined;
    if (p.status.matchedHosts === want) return done();
    await this.o.inventory.updateStatus(p.project, 'TelemetryProfile', p.id, { matchedHosts: want ?? null });
    return done();
  }

  private async reconcile({ object: host }: ReconcileContext<Host>): Promise<Result> {
    if (!host || host.spec.desiredState === 'deleted' || host.spec.desiredState === 'untrusted') return done();
    const next = effectiveTelemetry(this.topology.levelsOf(host), (id) => this.topology.group(id));
    const cur = host.status.telemetry;
    if (!cur && next.sources.length === 0) return done();
    const key = canonicalJson([next.version, next.sources]);
    const mine = this.written.get(host.id);
    // The cache may not show our last write yet: that write is what the host holds.
    if (mine && mine.revision > host.revision) {
      if (mine.key === key) return done();
    } else {
      this.written.delete(host.id);
      if (cur && canonicalJson([cur.version, cur.sources]) === key) return done();
    }
    // A merge patch: config's two lists and sources replace the old ones whole; appliedVersion stays.
    const r = await this.o.inventory.updateStatus(host.project, 'Host', host.id, { telemetry: { version: next.version, config: next.config, sources: next.sources } });
    this.writes++;
    this.written.set(host.id, { revision: r.revision, key });
    return done();
  }
}
