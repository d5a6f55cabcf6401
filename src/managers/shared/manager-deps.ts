import type { Inventory, Resource, ResourceOf } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import type { BackoffOptions, Clock } from '../../reconcile/index.ts';
import type { CommandTracker } from './command-tracker.ts';
import type { InformerIndex } from './informer-index.ts';

export type Host = ResourceOf<'Host'> & Resource;
export type Instance = ResourceOf<'Instance'> & Resource;
export type Region = ResourceOf<'Region'> & Resource;
export type Site = ResourceOf<'Site'> & Resource;

/** The shared caches and the Inventory both managers work with (startManagers owns them). */
export interface ManagerDeps {
  /** Acting as a manager: status writes, creating and removing Commands, finishing deletes. */
  inventory: Inventory;
  /** A project, or ALL_PROJECTS. */
  project: string;
  hosts: Informer<'Host', Host>;
  instances: Informer<'Instance', Instance>;
  instancesByHost: InformerIndex<Instance>;
  commands: CommandTracker;
  /** Where hosts stand: read by the maintenance windows and the telemetry manager. */
  regions: Informer<'Region', Region>;
  sites: Informer<'Site', Site>;
}

/** Knobs both managers take. */
export interface ManagerTuning {
  /** Reconciles at once. @default 128 from startManagers (a Controller alone: 4) */
  workers?: number;
  /** Retries after recoverable failures (agents' and the manager's own). @default 1 s doubling to 60 s, ±20 % */
  backoff?: BackoffOptions;
  /** @default systemClock */
  clock?: Clock;
  /** Full resync period; 0 turns it off. @default 600000 */
  resyncMs?: number;
  /** Hears failures the controllers cannot hand back. @default writes to stderr */
  onError?: (error: unknown, key?: string) => void;
}

/**
 * The Controller options every manager passes alike: its Inventory and project, and the tuning.
 * @example new Controller({ ...controllerBase(o, clock), name: 'host-manager', kind: 'Host', informer: o.hosts, reconcile })
 */
export function controllerBase(o: Pick<ManagerDeps, 'inventory' | 'project'> & ManagerTuning, clock: Clock) {
  return { inventory: o.inventory, project: o.project, workers: o.workers, backoff: o.backoff, clock, resyncMs: o.resyncMs, onError: o.onError };
}
