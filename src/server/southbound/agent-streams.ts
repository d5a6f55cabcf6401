import type { ServerResponse } from 'node:http';
import { ALL_PROJECTS, type AgentCommand, type Caller, type HostNodeConfig, type NodeConfigPayload, type InventoryEvent, type Inventory, isEimError, listAll, type Resource } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { flattenHead } from '../flatten-head.ts';

interface Conn {
  raw: ServerResponse;
  hostId: string;
  project: string;
  /** The agent token it was opened with: the stream ends when it is revoked or expires. */
  token: string;
  /** Stops watching the token (the stream ended); set once the watch is in place. */
  unguard?: () => void;
  closed?: boolean;
  /** Command ids sent on this connection (a command's later updates are not resent); made at the first. */
  sent?: Set<string>;
  /** The telemetry config version last sent on this connection, and the host revision it came from. */
  configVersion?: string;
  configRevision: number;
  /** The node-config version last sent on this connection. */
  nodeConfigVersion?: string;
}

interface HostTelemetry {
  version: string;
  config: unknown;
}

export interface AgentStreamsOptions {
  service: InventoryService;
  /** The southbound layer's own identity for reads (a manager grant on every project). */
  caller: Caller;
  /** Called when a host becomes untrusted or is deleted: revoke its credentials. */
  onHostRevoked: (hostId: string) => Promise<void> | void;
  /** Hears every Host event (the lease tracker follows the hosts' stored state through it); `deleted` for DELETED. */
  onHost?: (host: InventoryEvent['object'], deleted: boolean) => void;
  /** Keep-alive bookmark on idle streams. @default 15000 */
  keepAliveMs?: number;
  /**
   * Watches an open stream's token (TokenService.guard): calls `onInvalid` once, with the
   * `unauthenticated` error, when it is revoked or expires; returns the function that stops
   * watching. A stream whose token fails gets an ERROR event and is closed. Revocations made by
   * other servers arrive through the TokenService's refresh. Nothing is polled: a server with
   * 10,000 streams does no work per stream while their tokens stay valid.
   */
  guard?: (token: string, onInvalid: (e: unknown) => void) => Promise<() => void>;
  /** A Host or Command event this server could not act on (its host's revocation failed, say). */
  onError?: (e: unknown) => void;
  /** Open streams per host; one more closes the oldest. @default 2 */
  maxPerHost?: number;
  /**
   * Bytes a stream may have waiting to be sent (its client not reading); the next write past it
   * drops the stream, and the agent, reconnecting, gets what it missed from the store. A single
   * event is always written whole onto a buffer under the limit, however large (a node config of 32
   * files of 2 × 64 KiB), so no event can be refused for good. @default 16 MiB
   */
  maxBufferedBytes?: number;
  /**
   * Bytes all streams of this server may have waiting together: past it, a write to a stream that
   * already has bytes waiting drops that stream (one still keeping up is never dropped for it), so
   * that many slow clients cannot hold maxBufferedBytes each. @default 256 MiB
   */
  maxBufferedBytesTotal?: number;
  /**
   * A connecting agent's commands are read in one query of at most this many; a host with more
   * (a long history) is read page by page. @default 1000
   */
  commandsReadAtOnce?: number;
}

/**
 * The per-agent SSE streams. One watch over Commands and Hosts (all projects) routes each new
 * command to its host's open streams; on (re)connect an agent first gets every command of its host
 * not yet finished, so a command is never lost across reconnects (agents ignore ids they ran).
 * A host turned untrusted or deleted gets `revoked` and its streams close.
 *
 * Telemetry: the host's `status.telemetry` (written by the telemetry manager) goes out as
 * `event: config` { version, config } on connect and then whenever its version changes: once per
 * version per connection. Host events of other kinds (a heartbeat's connection state, the agent's
 * applied version) do not resend it.
 *
 * Node configuration: the host's `status.nodeConfig` (written by the node-config manager) goes out
 * as `event: node-config` { version, accounts, configs } the same way: on connect, then once per
 * new version per connection.
 */
export class AgentStreams {
  private readonly conns = new Map<string, Set<Conn>>();
  private readonly revokedHosts = new Set<string>();
  /** Hosts whose revocation runs now, with the reason their streams hear. */
  private readonly revoking = new Map<string, string>();
  private readonly abort = new AbortController();
  private running?: Promise<void>;
  private keepAlive?: NodeJS.Timeout;
  private readonly inventory: Inventory;

  constructor(private readonly options: AgentStreamsOptions) {
    this.inventory = options.service.as(options.caller);
  }

  async start(): Promise<void> {
    const stream = await this.options.service.openWatch(this.options.caller, { project: ALL_PROJECTS, kinds: ['Command', 'Host'], signal: this.abort.signal });
    this.running = (async () => {
      // One event that fails (a revocation meeting a database error) must not stop the routing of
      // every later command to every agent of this server.
      for await (const item of stream) if (item.type === 'event') await this.route(item.event()).catch((e) => this.options.onError?.(e));
    })().catch(() => {});
    // Hosts invalidated or deleted while no server was listening (a crash between the write and the
    // revocation) lose their tokens now; the watch, open already, covers what comes after. Revoking
    // twice is harmless.
    for (const h of (await listAll(this.inventory, ALL_PROJECTS, 'Host', { filter: 'spec.desiredState = untrusted OR spec.desiredState = deleted' })).items) {
      if (this.revokedHosts.has(h.id)) continue;
      this.revokedHosts.add(h.id);
      await this.options.onHostRevoked(h.id);
    }
    this.keepAlive = setInterval(() => {
      for (const set of this.conns.values()) for (const c of set) this.write(c, ': keep-alive\n\n');
    }, this.options.keepAliveMs ?? 15_000);
    this.keepAlive.unref();
  }

  /**
   * Ends a stream whose token is no longer valid (revoked here or on another server, or expired):
   * an ERROR event with the body the REST API would answer (code unauthenticated; details.reason
   * `expired` when the token ran out rather than was revoked), then close.
   */
  private refuse(hostId: string, c: Conn, e: unknown): void {
    if (c.closed) return;
    // Its token went with its host's revocation: the agent hears why, and stops for good.
    const reason = this.revoking.get(hostId);
    if (reason) return this.revoked(hostId, c, reason);
    const body = isEimError(e) && e.code === 'unauthenticated' ? e.toJSON() : { error: { code: 'unauthenticated', message: 'the token is no longer valid' } };
    this.write(c, `event: ERROR\ndata: ${JSON.stringify(body)}\n\n`);
    this.close(hostId, c);
  }

  /** Tells a stream its host was invalidated or deleted, and closes it. */
  private revoked(hostId: string, c: Conn, reason: string): void {
    if (c.closed) return;
    this.write(c, `event: revoked\ndata: ${JSON.stringify({ hostId, reason })}\n\n`);
    this.close(hostId, c);
  }

  private close(hostId: string, c: Conn): void {
    c.closed = true;
    c.unguard?.();
    c.raw.end();
    const set = this.conns.get(hostId);
    set?.delete(c);
    if (set?.size === 0) this.conns.delete(hostId);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.keepAlive);
    for (const set of this.conns.values()) {
      for (const c of set) {
        c.closed = true;
        c.unguard?.();
        c.raw.end();
      }
    }
    this.conns.clear();
    await this.running;
  }

  /** Open streams, for metrics. */
  get size(): number {
    let n = 0;
    for (const s of this.conns.values()) n += s.size;
    return n;
  }

  /** Whether this server has a stream of the host open. */
  has(hostId: string): boolean {
    return (this.conns.get(hostId)?.size ?? 0) > 0;
  }

  /** Serves one agent's stream until it disconnects; the host's oldest stream closes if it has too many. */
  async serve(project: string, hostId: string, token: string, raw: ServerResponse): Promise<void> {
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const conn: Conn = { raw, hostId, project, token, configRevision: 0 };
    let set = this.conns.get(hostId);
    if (!set) this.conns.set(hostId, (set = new Set()));
    set.add(conn);
    const max = this.options.maxPerHost ?? 2;
    for (const old of set) {
      if (set.size <= max) break;
      this.write(old, `: closed: host ${hostId} opened a newer stream (at most ${max} per host)\n\n`);
      this.close(hostId, old);
    }
    this.onClose(conn);
    raw.write(': connected\n\n');
    flattenHead(raw);
    if (this.options.guard) {
      try {
        const stop = await this.options.guard(token, this.refuser(conn));
        if (conn.closed) stop(); // gone while the watch was set up
        else conn.unguard = stop;
      } catch (e) {
        return this.refuse(hostId, conn, e); // revoked or expired since the request was let in
      }
    }
    // Everything not yet finished, then live ones (those arriving meanwhile are deduplicated by id).
    for (const c of await this.commandsOf(project, hostId)) {
      const state = (c.status as { state?: string }).state ?? 'pending';
      if (state === 'pending' || state === 'running') this.send(conn, c.revision, c);
    }
    // Then the current config; a newer one routed meanwhile has been sent already (revision check).
    let host;
    try {
      host = await this.inventory.get(project, 'Host', hostId);
    } catch (e) {
      if (isEimError(e) && e.code === 'not_found') return; // deleted meanwhile: its revoked event closes the stream
      throw e;
    }
    this.sendConfig(conn, host.revision, host.status);
  }

  // The two closures a stream keeps while it is open are made here, apart from serve(), so that
  // each holds the connection alone; `on`, not `once`: a response closes once, and `once` adds a
  // wrapper per listener.

  /** Forgets the stream when its connection closes. */
  private onClose(conn: Conn): void {
    conn.raw.on('close', () => {
      conn.closed = true;
      conn.unguard?.();
      const set = this.conns.get(conn.hostId);
      set?.delete(conn);
      if (set?.size === 0) this.conns.delete(conn.hostId);
    });
  }

  /** What the token watch calls when the stream's token stops being valid. */
  private refuser(conn: Conn): (e: unknown) => void {
    return (e) => this.refuse(conn.hostId, conn, e);
  }

  /** Every command of the host, oldest first. */
  private async commandsOf(project: string, hostId: string): Promise<Resource[]> {
    const limit = this.options.commandsReadAtOnce ?? 1000;
    const rows = await this.options.service.store.referringTo(project, hostId, ['Command'], limit);
    if (rows.length < limit) return rows.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return (await listAll(this.inventory, project, 'Command', { filter: `spec.hostId = ${JSON.stringify(hostId)}`, orderBy: 'createdAt' })).items as Resource[];
  }

  private async route(ev: InventoryEvent): Promise<void> {
    const obj = ev.object;
    if (ev.kind === 'Host') {
      this.options.onHost?.(obj, ev.type === 'DELETED');
      const desired = (obj.spec as { desiredState?: string }).desiredState;
      if (ev.type === 'DELETED' || desired === 'untrusted' || desired === 'deleted') {
        // The tokens go first (an agent that sees its stream end finds them refused); the streams
        // hear "revoked" (their agent stops for good), also those whose token watch fires at the
        // revocation, and those opened meanwhile.
        const reason = ev.type === 'DELETED' ? 'deleted' : (desired as string);
        this.revoking.set(obj.id, reason);
        try {
          if (!this.revokedHosts.has(obj.id)) {
            if (this.revokedHosts.size >= 100_000) this.revokedHosts.clear(); // a repeat revocation is harmless
            this.revokedHosts.add(obj.id);
            try {
              await this.options.onHostRevoked(obj.id);
            } catch (e) {
              this.revokedHosts.delete(obj.id); // tried again at its next event, or at a restart
              this.options.onError?.(e);
            }
          }
          for (const c of [...(this.conns.get(obj.id) ?? [])]) this.revoked(obj.id, c, reason);
        } finally {
          this.revoking.delete(obj.id);
        }
        return;
      }
      const set = this.conns.get(obj.id);
      if (set) for (const c of set) if (c.project === obj.project) this.sendConfig(c, obj.revision, obj.status);
      return;
    }
    if (ev.type === 'DELETED') return;
    const spec = obj.spec as { hostId: string };
    const state = (obj.status as { state?: string }).state ?? 'pending';
    if (state !== 'pending') return;
    const set = this.conns.get(spec.hostId);
    if (set) for (const c of set) if (c.project === obj.project) this.send(c, ev.revision, obj);
  }

  /**
   * Sends the host's telemetry config and node config, each if this connection has not had that
   * version (and the host revision is not older than what it had).
   */
  private sendConfig(conn: Conn, revision: number, status: unknown): void {
    if (revision <= conn.configRevision) return;
    conn.configRevision = revision;
    const t = (status as { telemetry?: HostTelemetry } | undefined)?.telemetry;
    if (t && t.version !== conn.configVersion) {
      conn.configVersion = t.version;
      this.write(conn, `id: ${revision}\nevent: config\ndata: ${JSON.stringify({ version: t.version, config: t.config })}\n\n`);
    }
    const n = (status as { nodeConfig?: HostNodeConfig } | undefined)?.nodeConfig;
    if (n && n.version !== conn.nodeConfigVersion) {
      conn.nodeConfigVersion = n.version;
      const payload: NodeConfigPayload = { version: n.version, accounts: n.accounts, configs: n.configs };
      this.write(conn, `id: ${revision}\nevent: node-config\ndata: ${JSON.stringify(payload)}\n\n`);
    }
  }

  /**
   * Writes to a stream. A client that stopped reading (more than maxBufferedBytes waiting) loses the
   * stream rather than growing this server's memory: it reconnects and gets what it missed.
   */
  private write(c: Conn, text: string): void {
    if (c.raw.destroyed) return;
    const waiting = c.raw.writableLength;
    if (waiting > (this.options.maxBufferedBytes ?? 16 * 1024 * 1024)) {
      this.options.onError?.(new Error(`dropped an agent stream whose client stopped reading (${waiting} bytes waiting)`));
      c.raw.destroy();
      return;
    }
    // Bytes wait only where the kernel's buffers are full: the sum is taken then, and not more
    // than every 100 ms (a stream dropped meanwhile frees its bytes; it may cost one drop too many).
    if (waiting > 0 && this.waitingTotal() > (this.options.maxBufferedBytesTotal ?? 256 * 1024 * 1024)) {
      this.options.onError?.(new Error(`dropped an agent stream whose client is behind (${waiting} bytes waiting): this server's streams have more than their total waiting`));
      c.raw.destroy();
      return;
    }
    c.raw.write(text);
  }

  private waitingSum = { at: -Infinity, bytes: 0 };

  /** The bytes all streams have waiting, summed at most every 100 ms. */
  private waitingTotal(): number {
    const now = performance.now();
    if (now - this.waitingSum.at >= 100) {
      let bytes = 0;
      for (const set of this.conns.values()) for (const c of set) if (!c.raw.destroyed) bytes += c.raw.writableLength;
      this.waitingSum = { at: now, bytes };
    }
    return this.waitingSum.bytes;
  }

  private send(conn: Conn, revision: number, cmd: { id: string; spec: unknown; createdAt: string }): void {
    if (conn.sent?.has(cmd.id)) return;
    (conn.sent ??= new Set()).add(cmd.id);
    const spec = cmd.spec as { type: AgentCommand['type']; params: Record<string, unknown> };
    const body: AgentCommand = { id: cmd.id, type: spec.type, params: spec.params, issuedAt: cmd.createdAt };
    this.write(conn, `id: ${revision}\nevent: command\ndata: ${JSON.stringify(body)}\n\n`);
  }
}
