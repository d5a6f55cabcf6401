import { ALL_PROJECTS, type Inventory } from '../api/index.ts';
import { Informer } from '../client/index.ts';
import type { ControllerStats } from '../reconcile/index.ts';
import { HostManager } from './host/host-manager.ts';
import { InstanceManager } from './instance/instance-manager.ts';
import type { OperatingSystem, OsUpdatePolicy } from './maintenance/os-update-plan.ts';
import { OsUpdateRollout } from './maintenance/os-update-rollout.ts';
import type { OsUpdateRun } from './maintenance/os-update-run-cache.ts';
import type { WindowView } from './maintenance/window-view.ts';
import { type CommandResource, CommandTracker } from './shared/command-tracker.ts';
import { InformerIndex } from './shared/informer-index.ts';
import type { Host, Instance, ManagerTuning } from './shared/manager-deps.ts';

export interface StartManagersOptions extends ManagerTuning {
  /** The project to manage. @default ALL_PROJECTS */
  project?: string;
  /** How soon a host with autoProvision looks again for a default OS profile. @default 30000 */
  osProfileRetryMs?: number;
  /** The maintenance windows OS updates start in; without it no OS update rollout runs. */
  windows?: WindowView;
}

export interface ManagersStats {
  host: ControllerStats;
  instance: ControllerStats;
  rollout?: ControllerStats;
  cached: { hosts: number; instances: number; commands: number };
  commands: { created: number; deleted: number };
}

export interface Managers {
  /** Resolves once every cache holds its first list. */
  readonly synced: Promise<void>;
  stats(): ManagersStats;
  /** Stops the controllers (in-flight reconciles are aborted and awaited), then the caches. */
  stop(): Promise<void>;
}

/**
 * Starts the host and instance managers on one set of shared caches (hosts, instances, commands).
 * `inventory` acts as a manager: the in-process Inventory (`svc.as(managerCaller)`) or an
 * InventoryClient with a manager token; the managers cannot tell the difference.
 * @example const managers = await startManagers(inventory, { workers: 8 }); … await managers.stop()
 */
export async function startManagers(inventory: Inventory, options: StartManagersOptions = {}): Promise<Managers> {
  const project = options.project ?? ALL_PROJECTS;
  const onHandlerError = options.onError;
  const hosts = new Informer<'Host', Host>({ inventory, project, kind: 'Host', onHandlerError });
  const instances = new Informer<'Instance', Instance>({ inventory, project, kind: 'Instance', onHandlerError });
  const commandInformer = new Informer<'Command', CommandResource>({ inventory, project, kind: 'Command', onHandlerError });
  const deps = {
    inventory,
    project,
    hosts,
    instances,
    instancesByHost: new InformerIndex(instances, (i) => i.spec.hostId),
    commands: new CommandTracker(inventory, commandInformer),
  };
  // Reconciles mostly wait on writes; more of them in flight lets group commit batch them.
  const tuning: ManagerTuning = { workers: options.workers ?? 16, backoff: options.backoff, clock: options.clock, resyncMs: options.resyncMs, onError: options.onError };
  const hostManager = new HostManager({ ...deps, ...tuning, osProfileRetryMs: options.osProfileRetryMs });
  const instanceManager = new InstanceManager({ ...deps, ...tuning });
  const informers: { start(): unknown; stop(): Promise<void>; synced: Promise<void> }[] = [hosts, instances, commandInformer];
  let rollout: OsUpdateRollout | undefined;
  if (options.windows) {
    const policies = new Informer<'OsUpdatePolicy', OsUpdatePolicy>({ inventory, project, kind: 'OsUpdatePolicy', onHandlerError });
    const runs = new Informer<'OsUpdateRun', OsUpdateRun>({ inventory, project, kind: 'OsUpdateRun', onHandlerError });
    const operatingSystems = new Informer<'OperatingSystem', OperatingSystem>({ inventory, project, kind: 'OperatingSystem', onHandlerError });
    informers.push(policies, runs, operatingSystems);
    rollout = new OsUpdateRollout({ ...deps, ...tuning, policies, runs, operatingSystems, windows: options.windows });
  }
  for (const i of informers) i.start();
  hostManager.start();
  instanceManager.start();
  rollout?.start();
  let stopping: Promise<void> | undefined;
  return {
    synced: Promise.all(informers.map((i) => i.synced)).then(() => undefined),
    stats: () => ({
      host: hostManager.stats(),
      instance: instanceManager.stats(),
      ...(rollout ? { rollout: rollout.stats() } : {}),
      cached: { hosts: hosts.size, instances: instances.size, commands: commandInformer.size },
      commands: { ...deps.commands.counters },
    }),
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all([hostManager.stop(), instanceManager.stop(), rollout?.stop()]);
        await Promise.all(informers.map((i) => i.stop()));
      })()),
  };
}
