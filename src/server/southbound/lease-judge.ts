import { HOST_MAINTENANCE, HOST_NO_CONNECTION, HOST_NO_CONNECTION_IN_MAINTENANCE, HOST_RUNNING } from '../../api/index.ts';
import type { LeaseRow } from '../../store/index.ts';
import type { HostView } from './host-view.ts';
import { type CompiledLeaseOptions, SHARED_FLUSH_MS } from './lease-options.ts';

/** A heartbeat this process heard (the recorder's memory). */
export interface LocalLease {
  project: string;
  lastSeen: number;
  intervalMs: number;
  /** Its agent was refused (host invalidated): no heartbeat will come, the memory stays to judge it by. */
  revoked?: boolean;
}

/** Until when a lease stands on its last heartbeat alone: `missedIntervals` of its interval after it. */
export const heardUntil = (l: Pick<LocalLease, 'lastSeen' | 'intervalMs'>, missedIntervals: number): number => l.lastSeen + missedIntervals * l.intervalMs;

export interface LeaseJudgeDeps {
  options: CompiledLeaseOptions;
  view: HostView;
  /** This process's own agents' latest heartbeats (fresher than the table, by up to one flush). */
  local: ReadonlyMap<string, LocalLease>;
  /** Writes a host's status (deduplicated per host, bounded in flight). */
  write: (hostId: string, project: string, patch: Record<string, unknown>) => void;
}

const LOST = new Set<string | undefined>([HOST_NO_CONNECTION, HOST_NO_CONNECTION_IN_MAINTENANCE, HOST_MAINTENANCE]);

/** How much older than the previous check an expiry may be and still be read by the next (a stalled judge). */
const SLACK_MS = 10_000;

/**
 * Judges the leases of every server's agents, from the lease table (Kubernetes' node lifecycle
 * controller): exactly one process runs it at a time. A running host whose lease expired, wherever
 * its agent was connected, turns "no connection"; a silent host inside a maintenance window shows
 * "maintenance" for the grace period, then "no connection (in maintenance)". Level-based: every
 * check compares what the store says (the HostView) with the leases and writes the difference, so
 * a judge that takes over from a dead one needs nothing from it. Hosts come back to "running"
 * through the server that hears their heartbeat, not here.
 */
export class LeaseJudge {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastCheck?: number;
  private lastFull = -Infinity;
  private stopped = false;
  /**
   * When this process began judging. No lease expires before one whole term has passed since
   * (Kubernetes' node lifecycle controller does the same when it starts): a judge that takes over
   * after a restart, or from a dead server, gives the agents it could not hear meanwhile the time
   * to reconnect and heartbeat before it calls them lost.
   */
  private startedAt = -Infinity;

  constructor(private readonly d: LeaseJudgeDeps) {}

  start(): void {
    this.stopped = false;
    this.startedAt = this.d.options.now();
    this.lastCheck = undefined;
    this.lastFull = -Infinity;
    const tick = () => {
      this.running = this.check()
        .catch((e) => this.d.options.onError?.(e))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.d.options.checkEveryMs).unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One look: expired leases, lost hosts' maintenance wording, and now and then the whole table. */
  async check(): Promise<void> {
    const o = this.d.options;
    const now = o.now();
    const full = now - this.lastFull >= o.fullPassMs;
    const rows = new Map<string, LeaseRow>();
    for (const r of full ? await o.leases.all() : await o.leases.expiring((this.lastCheck ?? now) - SLACK_MS, now)) rows.set(r.hostId, r);
    // This process's agents that went quiet: their rows (another server may have heard them since).
    const quiet: string[] = [];
    for (const [id, l] of this.d.local) if (heardUntil(l, o.missedIntervals) <= now && !rows.has(id) && this.d.view.get(id)?.message === HOST_RUNNING) quiet.push(id);
    if (quiet.length && !full) for (const r of await o.leases.get(quiet)) rows.set(r.hostId, r);
    const candidates = new Set([...rows.keys(), ...quiet]);
    for (const id of candidates) {
      const host = this.d.view.get(id);
      if (host?.message !== HOST_RUNNING) continue;
      const { expiresAt, lastSeen } = this.lease(id, rows.get(id));
      if (expiresAt > now) continue;
      this.d.write(id, host.project, { hostStatus: lostStatus(host.inWindow, lastSeen, now, o.maintenanceGraceMs), ...(lastSeen > 0 ? { lastSeenAt: new Date(lastSeen).toISOString() } : {}) });
    }
    for (const [id, host] of this.d.view.entries()) {
      if (!LOST.has(host.message) || host.message === undefined) continue;
      const want = lostStatus(host.inWindow, host.lastSeenAt ?? 0, now, o.maintenanceGraceMs);
      if (want.message !== host.message) this.d.write(id, host.project, { hostStatus: want });
    }
    if (full) await this.fullPass(rows, now);
    this.lastCheck = now;
  }

  /** Running hosts without any lease get one term from now; lastSeenAt catches up; deleted hosts' leases go. */
  private async fullPass(rows: Map<string, LeaseRow>, now: number): Promise<void> {
    const o = this.d.options;
    this.lastFull = now;
    const missing: LeaseRow[] = [];
    for (const [id, host] of this.d.view.entries()) {
      if (host.message !== HOST_RUNNING) continue;
      const row = rows.get(id);
      if (!row && !this.d.local.has(id)) {
        missing.push({ hostId: id, project: host.project, serverId: o.serverId, lastSeen: now, intervalMs: o.defaultIntervalMs, expiresAt: now + o.missedIntervals * o.defaultIntervalMs + o.flushMs });
        continue;
      }
      const { expiresAt, lastSeen } = this.lease(id, row);
      if (expiresAt > now && lastSeen - (host.lastSeenAt ?? 0) >= o.lastSeenEveryMs) this.d.write(id, host.project, { lastSeenAt: new Date(lastSeen).toISOString() });
    }
    if (missing.length) await o.leases.addMissing(o.serverId, missing);
    const gone = [...rows.values()].filter((r) => !this.d.view.get(r.hostId) && r.expiresAt <= now).map((r) => r.hostId);
    if (gone.length) await o.leases.remove(gone);
  }

  /** A host's lease: this process's memory for its own agents, the table for the others', the later of both. */
  private lease(id: string, row: LeaseRow | undefined): { expiresAt: number; lastSeen: number } {
    const o = this.d.options;
    const l = this.d.local.get(id);
    let expiresAt = -Infinity;
    let lastSeen = 0;
    if (l) {
      expiresAt = heardUntil(l, o.missedIntervals);
      lastSeen = l.lastSeen;
    }
    // Our own rows say what our memory says, only later: they count only without the memory (a restart).
    if (row && (row.serverId !== o.serverId || !l)) {
      expiresAt = Math.max(expiresAt, row.expiresAt);
      lastSeen = Math.max(lastSeen, row.lastSeen);
    }
    // An agent this process has not heard since it began judging gets one term from that start,
    // plus the 2 s in which servers sharing a database flush what they heard, to reconnect (a lone
    // server, flushing every 10 s, hears its agents directly: no need to wait for its flush). An
    // agent it has heard is judged by what it heard.
    if (!l) expiresAt = Math.max(expiresAt, this.startedAt + o.missedIntervals * (row?.intervalMs ?? o.defaultIntervalMs) + Math.min(o.flushMs, SHARED_FLUSH_MS));
    return { expiresAt, lastSeen };
  }
}

/** The hostStatus of a silent host: inside a window, "maintenance" for the grace, then "no connection (in maintenance)". */
export function lostStatus(inWindow: boolean, lastSeen: number, now: number, graceMs: number): { indicator: string; message: string; timestamp: string } {
  const timestamp = new Date(now).toISOString();
  if (!inWindow) return { indicator: 'error', message: HOST_NO_CONNECTION, timestamp };
  if (now - lastSeen < graceMs) return { indicator: 'idle', message: HOST_MAINTENANCE, timestamp };
  return { indicator: 'error', message: HOST_NO_CONNECTION_IN_MAINTENANCE, timestamp };
}
