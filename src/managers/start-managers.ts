import { ALL_PROJECTS, type Inventory } from '../api/index.ts';
import { Informer } from '../client/index.ts';
import type { ControllerStats } from '../reconcile/index.ts';
import { HostManager } from './host/host-manager.ts';
import { InstanceManager } from './instance/instance-manager.ts';
import { MaintenanceManager } from './maintenance/maintenance-manager.ts';
import type { OperatingSystem, OsUpdatePolicy } from './maintenance/os-update-plan.ts';
import { OsUpdateRollout } from './maintenance/os-update-rollout.ts';
import type { OsUpdateRun } from './maintenance/os-update-run-cache.ts';
import type { WindowView } from './maintenance/window-view.ts';
import { MaintenanceWindows } from './maintenance/windows.ts';
import { type CommandResource, CommandTracker } from './shared/command-tracker.ts';
import { InformerIndex } from './shared/informer-index.ts';
import type { Host, Instance, ManagerTuning, Region, Site } from './shared/manager-deps.ts';
import { InheritedLabelsManager, type InheritedLabelsManagerStats } from './labels/inherited-labels-manager.ts';
import { NodeConfigManager, type NodeConfigManagerStats } from './node-config/node-config-manager.ts';
import { TelemetryManager, type TelemetryManagerStats } from './telemetry/telemetry-manager.ts';
import { AlertManager, type AlertManagerOptions, type AlertManagerStats } from './alerts/alert-manager.ts';

export interface StartManagersOptions extends ManagerTuning {
  /** The project to manage. @default ALL_PROJECTS */
  project?: string;
  /** How soon a host with autoProvision looks again for a default OS profile. @default 30000 */
  osProfileRetryMs?: number;
  /** The windows OS updates start in, instead of the schedules' (unit tests of the rollout logic). @default the MaintenanceWindows of the schedules */
  updateWindows?: WindowView;
  /** Wait before an OS update's 2nd attempt after a recoverable failure, doubled for each later one. @default 5000 */
  updateRetryMs?: number;
  /** The alert manager's links, secrets, metric values, timing and senders. @default see AlertManagerOptions */
  alerts?: Pick<AlertManagerOptions, 'revealSpec' | 'metricValue' | 'externalUrl' | 'tickMs' | 'metricEveryMs' | 'resolvedRetentionMs' | 'senders' | 'allowLocalReceivers' | 'deliveryBackoff'>;
}

export interface ManagersStats {
  host: ControllerStats;
  instance: ControllerStats;
  telemetry: TelemetryManagerStats;
  labels: InheritedLabelsManagerStats;
  nodeConfig: NodeConfigManagerStats;
  maintenance: { hosts: ControllerStats; schedules: ControllerStats };
  rollout: ControllerStats;
  alerts: AlertManagerStats;
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
 * Starts the managers (host, instance, maintenance windows, OS update rollout, telemetry, inherited labels, node config, alerts) on one set
 * of shared caches (hosts, instances, commands, regions, sites); each adds its own of the kinds only
 * it reads (schedules, policies, telemetry profiles, …).
 * `inventory` acts as a manager: the in-process Inventory (`svc.as(managerCaller)`) or an
 * InventoryClient with a manager token; the managers cannot tell the difference.
 * @example const managers = await startManagers(inventory, { workers: 32 }); … await managers.stop()
 */
export async function startManagers(inventory: Inventory, options: StartManagersOptions = {}): Promise<Managers> {
  const project = options.project ?? ALL_PROJECTS;
  const onHandlerError = options.onError;
  const hosts = new Informer<'Host', Host>({ inventory, project, kind: 'Host', onHandlerError });
  const instances = new Informer<'Instance', Instance>({ inventory, project, kind: 'Instance', onHandlerError });
  const commandInformer = new Informer<'Command', CommandResource>({ inventory, project, kind: 'Command', onHandlerError });
  const regions = new Informer<'Region', Region>({ inventory, project, kind: 'Region', onHandlerError });
  const sites = new Informer<'Site', Site>({ inventory, project, kind: 'Site', onHandlerError });
  const deps = {
    inventory,
    project,
    hosts,
    instances,
    instancesByHost: new InformerIndex(instances, (i) => i.spec.hostId),
    commands: new CommandTracker(inventory, commandInformer),
    regions,
    sites,
  };
  // Reconciles mostly wait on writes (a group commit each): the workers bound how many changes a
  // manager has in hand at once. With 16, a burst of 1,000 desired power changes queued in the host
  // manager (PATCH 200 → Command created p50 0.8 s, `bench:fleet -- --scenario power`) while the API
  // took the next PATCHes; with 128, a reconcile starts as its change arrives (p50 56 ms).
  const tuning: ManagerTuning = { workers: options.workers ?? 128, backoff: options.backoff, clock: options.clock, resyncMs: options.resyncMs, onError: options.onError };
  const hostManager = new HostManager({ ...deps, ...tuning, osProfileRetryMs: options.osProfileRetryMs });
  const instanceManager = new InstanceManager({ ...deps, ...tuning });
  const telemetryManager = new TelemetryManager({ ...deps, ...tuning });
  const labelsManager = new InheritedLabelsManager({ ...deps, ...tuning });
  const nodeConfigManager = new NodeConfigManager({ ...deps, ...tuning });
  // The windows every policy manager reads: one cache of schedules, sites and regions, sharing the hosts.
  const windows = new MaintenanceWindows({ inventory, project, hosts, sites, regions, clock: options.clock, onError: onHandlerError });
  const maintenanceManager = new MaintenanceManager({ inventory, project, hosts, windows, ...tuning });
  const policies = new Informer<'OsUpdatePolicy', OsUpdatePolicy>({ inventory, project, kind: 'OsUpdatePolicy', onHandlerError });
  const runs = new Informer<'OsUpdateRun', OsUpdateRun>({ inventory, project, kind: 'OsUpdateRun', onHandlerError });
  const operatingSystems = new Informer<'OperatingSystem', OperatingSystem>({ inventory, project, kind: 'OperatingSystem', onHandlerError });
  const rollout = new OsUpdateRollout({ ...deps, ...tuning, policies, runs, operatingSystems, windows: options.updateWindows ?? windows, retryDelayMs: options.updateRetryMs });
  const alertManager = new AlertManager({
    inventory, project, hosts, instances, regions, sites, ...tuning, ...options.alerts,
    shared: { OsUpdatePolicy: policies, OsUpdateRun: runs, OperatingSystem: operatingSystems, Command: commandInformer },
  });
  const informers: { start(): unknown; stop(): Promise<void>; synced: Promise<void> }[] = [hosts, instances, commandInformer, regions, sites, policies, runs, operatingSystems];
  for (const i of informers) i.start();
  windows.start();
  hostManager.start();
  instanceManager.start();
  telemetryManager.start();
  labelsManager.start();
  nodeConfigManager.start();
  maintenanceManager.start();
  rollout.start();
  alertManager.start();
  let stopping: Promise<void> | undefined;
  return {
    synced: Promise.all([...informers.map((i) => i.synced), windows.synced, telemetryManager.topology.synced, alertManager.synced, nodeConfigManager.topology.synced]).then(() => undefined),
    stats: () => ({
      host: hostManager.stats(),
      instance: instanceManager.stats(),
      telemetry: telemetryManager.stats(),
      labels: labelsManager.stats(),
      nodeConfig: nodeConfigManager.stats(),
      maintenance: maintenanceManager.stats(),
      rollout: rollout.stats(),
      alerts: alertManager.stats(),
      cached: { hosts: hosts.size, instances: instances.size, commands: commandInformer.size },
      commands: { ...deps.commands.counters },
    }),
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all([hostManager.stop(), instanceManager.stop(), telemetryManager.stop(), labelsManager.stop(), nodeConfigManager.stop(), maintenanceManager.stop(), rollout.stop(), alertManager.stop()]);
        await Promise.all([...informers.map((i) => i.stop()), windows.stop()]);
      })()),
  };
}
