import { HOST_RUNNING, isEimError, type Resource } from '../../api/index.ts';
import { HostView } from './host-view.ts';
import { heardUntil, LeaseJudge, type LocalLease } from './lease-judge.ts';
import { type CompiledLeaseOptions, compileLeaseOptions, type LeaseOptions } from './lease-options.ts';

export type LeaseTrackerOptions = LeaseOptions;

/**
 * Agents' heartbeats, for any number of servers on one database (Kubernetes node leases). A
 * heartbeat costs a map update; every `flushMs` this server writes its agents' last heartbeats to
 * the lease table in one statement. One server at a time judges expiry from that table (the
 * LeaseJudge: `lead()` while this process holds the leadership). A host whose store state is not
 * "running" turns running at its first heartbeat here, at once: its lease is written first, so the
 * judge, wherever it runs, sees it fresh. Between transitions the store is written only for
 * status.lastSeenAt, at most once a minute per host, batched.
 */
export class LeaseTracker {
  readonly options: CompiledLeaseOptions;
  /** This process's agents: their latest heartbeat. */
  private readonly local = new Map<string, LocalLease>();
  /** Heard since the last flush. */
  private readonly dirty = new Set<string>();
  /** Hosts to turn running once their lease is written. */
  private readonly urgent = new Set<string>();
  private readonly view = new HostView();
  private readonly judge: LeaseJudge;
  private judging = false;
  /** The hosts' stored state is in the view (start() loaded it). */
  private loaded = false;
  private stopping = false;
  private flushTimer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly writing = new Set<string>();
  private readonly queued = new Map<string, () => { project: string; patch: Record<string, unknown> } | undefined>();
  /** Hosts heard while a status write of theirs was in flight or queued: reconsidered once it succeeds. */
  private readonly heardDuringWrite = new Set<string>();
  private inFlight = 0;

  constructor(options: LeaseTrackerOptions) {
    this.options = compileLeaseOptions(options);
    this.judge = new LeaseJudge({ options: this.options, view: this.view, local: this.local, write: (id, project, patch) => this.write(id, () => ({ project, patch })) });
  }

  /**
   * Starts flushing, and loads the hosts' stored state (resolves once loaded; a failed load is
   * reported and tried again every second). Heartbeats are taken meanwhile: what they need of the
   * stored state (a host to mark running again) is done once it is loaded, and judging starts then.
   * So a server with many hosts listens at once instead of after reading every host.
   */
  async start(): Promise<void> {
    this.flushTimer = setInterval(() => void this.flush(), this.options.flushMs);
    this.flushTimer.unref();
    for (;;) {
      try {
        await this.view.load(this.options.inventory);
        break;
      } catch (e) {
        if (this.stopping) return;
        this.options.onError?.(e);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (this.stopping) return;
    this.loaded = true;
    // Heard while the hosts loaded, and not silent since (a load that kept failing may have taken long).
    const now = this.options.now();
    for (const [id, l] of this.local) if (!l.revoked && heardUntil(l, this.options.missedIntervals) > now && this.view.get(id)?.message !== HOST_RUNNING) this.comeBack(id);
    if (this.judging) this.judge.start();
  }

  /** This process judges expiry now (it holds the leadership, or it is the only server): from when the hosts are loaded. */
  lead(): void {
    if (this.judging) return;
    this.judging = true;
    if (this.loaded) this.judge.start();
  }

  /** Another process judges now. */
  async follow(): Promise<void> {
    if (!this.judging) return;
    this.judging = false;
    await this.judge.stop();
  }

  get leading(): boolean {
    return this.judging;
  }

  /** Stops judging and writes what this server heard last (a restart loses no heartbeat). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.flushTimer);
    clearTimeout(this.soon);
    await this.follow();
    await this.flush();
  }

  /**
   * Records a heartbeat. One from a host revoked here (forget) is ignored: it slipped in before its
   * token was refused, and a host invalidated or deleted is never admitted again.
   */
  beat(project: string, hostId: string, intervalMs = this.options.defaultIntervalMs): void {
    const l = this.local.get(hostId);
    const now = this.options.now();
    if (l?.revoked) return;
    if (l) {
      l.project = project;
      l.lastSeen = now;
      l.intervalMs = intervalMs;
    } else {
      this.local.set(hostId, { project, lastSeen: now, intervalMs });
    }
    this.dirty.add(hostId);
    if (this.writing.has(hostId) || this.queued.has(hostId)) this.heardDuringWrite.add(hostId);
    if (this.loaded && this.view.get(hostId)?.message !== HOST_RUNNING) this.comeBack(hostId);
  }

  /**
   * Its agent is refused from now on (host invalidated or deleted). What this process heard stays,
   * and its lease row is written once more without the flush allowance: the host is judged lost 3
   * intervals after its last heartbeat here, whichever server judges; the memory goes with the
   * other silent agents'.
   */
  forget(hostId: string): void {
    this.urgent.delete(hostId);
    const l = this.local.get(hostId);
    if (!l || l.revoked) return;
    l.revoked = true;
    // Its row is written once more without the flush allowance (no heartbeat will follow), so a
    // judge on another server sees the same expiry as this process's memory.
    this.dirty.add(hostId);
  }

  /** Hears a host's latest stored state (every Host event; `deleted` for DELETED). */
  observeHost(host: Pick<Resource, 'id' | 'project' | 'revision' | 'status'>, deleted = false): void {
    if (deleted) {
      this.view.delete(host.id);
      this.local.delete(host.id);
      this.dirty.delete(host.id);
      this.urgent.delete(host.id);
      this.heardDuringWrite.delete(host.id);
      return;
    }
    if (this.view.apply(host) === undefined) return;
    this.reconsider(host.id);
  }

  /** Marked lost (a judge racing a reconnect, or a write in flight when it heartbeat) while it heartbeats here: running again. */
  private reconsider(hostId: string): void {
    const l = this.local.get(hostId);
    if (l && !l.revoked && this.loaded && !this.stopping && this.view.get(hostId)?.message !== HOST_RUNNING && heardUntil(l, this.options.missedIntervals) > this.options.now()) this.comeBack(hostId);
  }

  /** Agents heartbeating to this server. */
  get size(): number {
    return this.local.size;
  }

  /** One judge check now (tests). */
  checkNow(): Promise<void> {
    return this.judge.check();
  }

  /** Writes the heartbeats heard since the last flush, in one statement; forgets agents long gone from here. */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const o = this.options;
    const now = o.now();
    const ids = [...this.dirty];
    const urgent = [...this.urgent];
    this.dirty.clear();
    this.urgent.clear();
    const rows = [];
    for (const id of ids) {
      const l = this.local.get(id);
      if (l) rows.push({ hostId: id, project: l.project, lastSeen: l.lastSeen, intervalMs: l.intervalMs, expiresAt: heardUntil(l, o.missedIntervals) + (l.revoked ? 0 : o.flushMs) });
    }
    try {
      if (rows.length) await o.leases.renew(o.serverId, rows);
    } catch (e) {
      for (const id of ids) this.dirty.add(id);
      for (const id of urgent) this.urgent.add(id);
      o.onError?.(e);
      return;
    }
    for (const id of urgent) this.markRunning(id);
    // An agent that moved to another server (or stopped) long ago: its memory here goes.
    for (const [id, l] of this.local) if (heardUntil(l, o.missedIntervals) + 60_000 < now && !this.dirty.has(id)) this.local.delete(id);
  }

  /** A host heard here that the store does not show running: lease first, then the status. */
  private comeBack(hostId: string): void {
    if (this.judging) return this.markRunning(hostId); // the judge is here: its memory has the heartbeat
    this.urgent.add(hostId);
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      void this.flush();
    }, 10);
  }

  private markRunning(hostId: string): void {
    this.write(hostId, () => {
      const l = this.local.get(hostId);
      // A revoked agent (forget) is never running again, whatever was queued before it.
      if (!l || l.revoked || this.view.get(hostId)?.message === HOST_RUNNING) return undefined;
      const at = new Date(l.lastSeen).toISOString();
      return { project: l.project, patch: { hostStatus: { indicator: 'idle', message: HOST_RUNNING, timestamp: at }, lastSeenAt: at } };
    });
  }

  /**
   * One status write per host at a time (a host already being written is skipped: whoever asked
   * asks again on its next heartbeat or check, and a heartbeat heard meanwhile is reconsidered
   * when the write is done), at most maxWritesInFlight in all; the others wait
   * in a queue and decide what to write when their turn comes.
   */
  private write(hostId: string, what: () => { project: string; patch: Record<string, unknown> } | undefined): void {
    if (this.writing.has(hostId)) return;
    if (this.inFlight >= this.options.maxWritesInFlight) {
      this.queued.set(hostId, what);
      return;
    }
    const w = what();
    if (!w) return;
    this.writing.add(hostId);
    this.inFlight++;
    let written = false;
    this.options.inventory.updateStatus(w.project, 'Host', hostId, w.patch).then(
      (host) => {
        written = true;
        this.view.apply(host);
      },
      (e) => {
        if (isEimError(e) && e.code === 'not_found') {
          this.view.delete(hostId);
          this.forget(hostId);
        } else this.options.onError?.(e); // the store still says otherwise: a later check or heartbeat writes again
      },
    ).finally(() => {
      this.writing.delete(hostId);
      this.inFlight--;
      for (const [id, next] of this.queued) {
        if (this.inFlight >= this.options.maxWritesInFlight) break;
        this.queued.delete(id);
        this.write(id, next);
      }
      // A heartbeat heard while this write was in flight was skipped (the view still said running,
      // or this host was being written): it counts now. Only after a write that went through: a
      // failed one is tried again at the next heartbeat or check, not at once, in a loop.
      if (this.heardDuringWrite.delete(hostId) && written) this.reconsider(hostId);
    });
  }
}
