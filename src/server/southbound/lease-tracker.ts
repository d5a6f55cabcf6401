import { ALL_PROJECTS, HOST_NO_CONNECTION, HOST_RUNNING, type Inventory, isEimError, listAll } from '../../api/index.ts';

interface Lease {
  project: string;
  expiresAt: number;
  intervalMs: number;
  /** What the store should say. */
  want: 'running' | 'lost';
  /** What we last wrote (undefined: nothing yet, or a write is pending). */
  written?: 'running' | 'lost';
  /** Whether the last "lost" we wrote said maintenance rather than no connection. */
  writtenMaintenance?: boolean;
  writing: boolean;
}

export interface LeaseTrackerOptions {
  inventory: Inventory;
  /** Missed intervals before "no connection". @default 3 */
  missedIntervals?: number;
  /** Interval assumed when an agent does not say. @default 10000 */
  defaultIntervalMs?: number;
  /** How often leases are checked. @default 250 */
  checkEveryMs?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

/**
 * Heartbeat leases, in memory: a heartbeat costs a map update. The store is written only when a
 * host's connection state changes (running ↔ no connection), so 10,000 agents heartbeating every
 * 10 s write nothing while nothing changes.
 */
export class LeaseTracker {
  private readonly leases = new Map<string, Lease>();
  /** Hosts whose status.maintenance says they are in a window (the maintenance manager writes it). */
  private readonly inWindow = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly missed: number;
  private readonly defaultIntervalMs: number;

  constructor(private readonly options: LeaseTrackerOptions) {
    this.now = options.now ?? (() => Date.now());
    this.missed = options.missedIntervals ?? 3;
    this.defaultIntervalMs = options.defaultIntervalMs ?? 10_000;
  }

  /**
   * Starts checking; hosts the store shows running get one lease term to heartbeat here (after a
   * restart they are still connected as far as anyone knows).
   */
  async start(): Promise<void> {
    const running = await listAll(this.options.inventory, ALL_PROJECTS, 'Host', { filter: `status.hostStatus.message = "${HOST_RUNNING}"` });
    for (const h of running.items) {
      if (this.leases.has(h.id)) continue;
      this.leases.set(h.id, { project: h.project, expiresAt: this.now() + this.missed * this.defaultIntervalMs, intervalMs: this.defaultIntervalMs, want: 'running', written: 'running', writing: false });
    }
    for (const h of (await listAll(this.options.inventory, ALL_PROJECTS, 'Host', { filter: 'status.maintenance.inWindow = true' })).items) this.inWindow.add(h.id);
    this.timer = setInterval(() => this.check(), this.options.checkEveryMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Records a heartbeat. */
  beat(project: string, hostId: string, intervalMs = this.defaultIntervalMs): void {
    const expiresAt = this.now() + this.missed * intervalMs;
    const lease = this.leases.get(hostId);
    if (lease) {
      lease.expiresAt = expiresAt;
      lease.intervalMs = intervalMs;
      lease.project = project;
      if (lease.want !== 'running') {
        lease.want = 'running';
        this.sync(hostId, lease);
      }
      return;
    }
    const fresh: Lease = { project, expiresAt, intervalMs, want: 'running', writing: false };
    this.leases.set(hostId, fresh);
    this.sync(hostId, fresh);
  }

  /** Forgets a host (deleted or invalidated). */
  forget(hostId: string): void {
    this.leases.delete(hostId);
    this.inWindow.delete(hostId);
  }

  /**
   * Hears a host's latest state: a host without heartbeats whose maintenance window opens turns
   * from "no connection" to "maintenance", and back when the window closes.
   */
  observeHost(host: { id: string; status: unknown }): void {
    const now = (host.status as { maintenance?: { inWindow?: boolean } }).maintenance?.inWindow === true;
    if (now === this.inWindow.has(host.id)) return;
    if (now) this.inWindow.add(host.id);
    else this.inWindow.delete(host.id);
    const lease = this.leases.get(host.id);
    if (lease) this.sync(host.id, lease);
  }

  /** Whether the host's lease is current. */
  connected(hostId: string): boolean {
    const l = this.leases.get(hostId);
    return !!l && l.want === 'running';
  }

  get size(): number {
    return this.leases.size;
  }

  private check(): void {
    const now = this.now();
    for (const [id, lease] of this.leases) {
      if (lease.want === 'running' && lease.expiresAt <= now) lease.want = 'lost';
      if (this.stale(id, lease) && !lease.writing) this.sync(id, lease);
    }
  }

  /** Whether the store says something else than it should. */
  private stale(hostId: string, lease: Lease): boolean {
    if (lease.want !== lease.written) return true;
    return lease.want === 'lost' && lease.writtenMaintenance !== this.inWindow.has(hostId);
  }

  private sync(hostId: string, lease: Lease): void {
    if (lease.writing || !this.stale(hostId, lease)) return;
    lease.writing = true;
    const want = lease.want;
    const at = new Date(this.now()).toISOString();
    const maintenance = want === 'lost' && this.inWindow.has(hostId);
    const hostStatus =
      want === 'running'
        ? { indicator: 'idle', message: HOST_RUNNING, timestamp: at }
        : { indicator: maintenance ? 'idle' : 'error', message: maintenance ? 'maintenance' : HOST_NO_CONNECTION, timestamp: at };
    const patch: Record<string, unknown> = { hostStatus };
    if (want === 'running') patch.lastSeenAt = at;
    this.options.inventory.updateStatus(lease.project, 'Host', hostId, patch).then(
      () => {
        lease.writing = false;
        lease.written = want;
        lease.writtenMaintenance = maintenance;
      },
      (e) => {
        lease.writing = false;
        if (isEimError(e) && e.code === 'not_found') this.leases.delete(hostId);
        else this.options.onError?.(e); // written stays behind want: the next check tries again
      },
    );
  }
}
