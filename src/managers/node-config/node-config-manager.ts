import { nodeConfigApplyStatus } from '../../api/index.ts';
import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, type Result, systemClock } from '../../reconcile/index.ts';
import { controllerBase, type Host, type ManagerDeps, type ManagerTuning } from '../shared/manager-deps.ts';
import { canonicalJson } from '../telemetry/effective-telemetry.ts';
import { effectiveNodeConfig } from './effective-node-config.ts';
import { NodeConfigTopology } from './node-config-topology.ts';

export type NodeConfigManagerOptions = Pick<ManagerDeps, 'inventory' | 'project' | 'hosts' | 'instances' | 'instancesByHost' | 'regions' | 'sites'> & ManagerTuning;

export interface NodeConfigManagerStats extends ControllerStats {
  /** status.nodeConfig writes made. */
  writes: number;
}

/**
 * Computes each host's effective node configuration (see `effectiveNodeConfig` for the merge
 * rule) and writes it to `status.nodeConfig` { version, accounts, configs, sources, conflicts,
 * applyStatus } when it changed, and only then, also across restarts. The southbound layer sends a
 * new version to the host's agent (`event: node-config`); the agent's report lands in
 * appliedVersion, appliedAt, items and applyStatus.
 *
 * A host nothing ever applied to gets no `nodeConfig`. One that had some and lost the last gets an
 * empty set (its own version), so its agent removes what it manages.
 * @example const m = new NodeConfigManager({ inventory, project, hosts, instances, instancesByHost, regions, sites }); m.start(); … await m.stop()
 */
export class NodeConfigManager {
  readonly controller: Controller<'Host', Host>;
  readonly topology: NodeConfigTopology;
  private readonly clock: Clock;
  /** What this manager wrote last per host, until the cache shows that write (or a later one). */
  private readonly written = new Map<string, { revision: number; key: string }>();
  private writes = 0;

  constructor(private readonly o: NodeConfigManagerOptions) {
    this.clock = o.clock ?? systemClock;
    const onHandlerError = o.onError ? (e: unknown) => o.onError!(e) : undefined;
    this.topology = new NodeConfigTopology({ ...o, onHandlerError });
    this.controller = new Controller({
      name: 'node-config-manager',
      ...controllerBase(o, this.clock),
      kind: 'Host',
      informer: o.hosts,
      // Sites, regions, accounts, configs, instances and selector membership reach it through the topology.
      reads: (h) => [h.spec.desiredState, h.spec.siteId, h.status.nodeConfig],
      waitFor: Promise.all([o.hosts.synced, o.instances.synced, this.topology.synced]),
      reconcile: (ctx) => this.reconcile(ctx),
    });
    this.topology.onAffected((hostId) => this.controller.queue.add(hostId));
    o.hosts.on({ delete: (h) => this.written.delete(h.id) });
  }

  start(): this {
    this.topology.start();
    this.controller.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.topology.stop();
  }

  stats(): NodeConfigManagerStats {
    return { ...this.controller.stats(), writes: this.writes };
  }

  private async reconcile({ object: host }: ReconcileContext<Host>): Promise<Result> {
    if (!host || host.spec.desiredState === 'deleted' || host.spec.desiredState === 'untrusted') return done();
    const next = effectiveNodeConfig(this.topology.levelsOf(host));
    const cur = host.status.nodeConfig;
    if (!cur && next.accounts.length === 0 && next.configs.length === 0 && next.conflicts.length === 0) return done();
    const key = canonicalJson([next.version, next.sources, next.conflicts]);
    const mine = this.written.get(host.id);
    // The cache may not show our last write yet: that write is what the host holds.
    if (mine && mine.revision > host.revision) {
      if (mine.key === key) return done();
    } else {
      this.written.delete(host.id);
      if (cur && canonicalJson([cur.version, cur.sources, cur.conflicts ?? []]) === key) return done();
    }
    const nodeConfig = { version: next.version, accounts: next.accounts, configs: next.configs, sources: next.sources, conflicts: next.conflicts };
    // A merge patch: the lists replace the old ones whole; appliedVersion, appliedAt and items stay.
    const applyStatus = nodeConfigApplyStatus({ ...nodeConfig, appliedVersion: cur?.appliedVersion, items: cur?.items }, new Date(this.clock.now()));
    const r = await this.o.inventory.updateStatus(host.project, 'Host', host.id, { nodeConfig: { ...nodeConfig, applyStatus } });
    this.writes++;
    this.written.set(host.id, { revision: r.revision, key });
    return done();
  }
}
