import type { Inventory } from '../../api/index.ts';
import type { LeaseStore } from '../../store/index.ts';

/** How often servers sharing a database flush their agents' heartbeats to the lease table (the default). */
export const SHARED_FLUSH_MS = 2000;
/** A server alone on its database flushes this rarely: it judges from its own memory, the table serves restarts and lastSeenAt. */
export const ALONE_FLUSH_MS = 10_000;

export interface LeaseOptions {
  /** The southbound's identity (a manager grant on every project). */
  inventory: Inventory;
  /** The shared lease table. */
  leases: LeaseStore;
  /** This process among the servers on the database. @default a random id */
  serverId?: string;
  /** Missed intervals before "no connection". @default 3 */
  missedIntervals?: number;
  /** Interval assumed when an agent does not say. @default 10000 */
  defaultIntervalMs?: number;
  /** How often this server writes its agents' heartbeats to the lease table (one statement). @default 2000 */
  flushMs?: number;
  /** How often the judging server checks leases. @default 1000 */
  checkEveryMs?: number;
  /** How often the judge reads the whole lease table (hosts without a lease, lastSeenAt, deleted hosts' leases). @default 15000, or a quarter of lastSeenEveryMs when that is less */
  fullPassMs?: number;
  /** status.lastSeenAt of a running host is written when it is this much behind (at most once per this per host). @default 60000 */
  lastSeenEveryMs?: number;
  /** Inside a maintenance window, a silent host shows "maintenance" this long after its last heartbeat, then "no connection (in maintenance)". @default 900000 (15 min) */
  maintenanceGraceMs?: number;
  /** Status writes in flight at once (the store batches them). @default 256 */
  maxWritesInFlight?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

export type CompiledLeaseOptions = Readonly<Required<Omit<LeaseOptions, 'onError'>> & Pick<LeaseOptions, 'onError'>>;

/**
 * LeaseOptions with their defaults, frozen. The lease table's window must outlast a flush, or a
 * heartbeating host would look lost between two flushes.
 * @example compileLeaseOptions({ inventory, leases: store.leases }).flushMs // 2000
 */
export function compileLeaseOptions(o: LeaseOptions): CompiledLeaseOptions {
  const c = {
    ...o,
    serverId: o.serverId ?? `srv-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    missedIntervals: o.missedIntervals ?? 3,
    defaultIntervalMs: o.defaultIntervalMs ?? 10_000,
    flushMs: o.flushMs ?? SHARED_FLUSH_MS,
    checkEveryMs: o.checkEveryMs ?? 1000,
    fullPassMs: o.fullPassMs ?? Math.min(15_000, (o.lastSeenEveryMs ?? 60_000) / 4),
    lastSeenEveryMs: o.lastSeenEveryMs ?? 60_000,
    maintenanceGraceMs: o.maintenanceGraceMs ?? 15 * 60_000,
    maxWritesInFlight: o.maxWritesInFlight ?? 256,
    now: o.now ?? (() => Date.now()),
  };
  for (const k of ['missedIntervals', 'defaultIntervalMs', 'flushMs', 'checkEveryMs', 'fullPassMs', 'lastSeenEveryMs', 'maxWritesInFlight'] as const) {
    if (!(Number.isFinite(c[k]) && c[k] > 0)) throw new RangeError(`leases: ${k} must be a positive number (got ${c[k]})`);
  }
  if (!(Number.isFinite(c.maintenanceGraceMs) && c.maintenanceGraceMs >= 0)) throw new RangeError(`leases: maintenanceGraceMs must be ≥ 0 (got ${c.maintenanceGraceMs})`);
  return Object.freeze(c);
}
