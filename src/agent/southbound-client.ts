import type http from 'node:http';
import type tls from 'node:tls';
import {
  type AgentCertificateResponse, type AgentCommand, type AgentStatusReport, type CommandResult, EimError, type EnrollRequest, type EnrollResponse, type HardwareReport, type HeartbeatRequest, type NodeConfigReport, type RenewResponse,
} from '../api/index.ts';
import { HttpTransport } from '../client/http-transport.ts';
import { isEimError } from '../api/index.ts';
import { type ClientCertificate, connectionPool, secureContextFor, trustedCertificates } from '../client/tls-trust.ts';

export interface StreamMessage {
  event: 'command' | 'config' | 'node-config' | 'revoked' | 'BOOKMARK';
  id?: string;
  data: unknown;
}

/**
 * The agent's side of the southbound protocol (src/api/southbound.ts), shared by the real agent
 * and the fleet simulator. All calls are initiated by the agent.
 * Several servers (behind no load balancer) are used in turn: a call that cannot reach one goes to
 * the next, and later calls stay there.
 * @example const sb = new SouthboundClient([server1, server2]); const { token } = await sb.enroll(enrollmentToken, identity)
 */
export class SouthboundClient {
  private transport: HttpTransport;
  /** Transports of tokens renewed away, closed a minute later (calls in flight on them finish). */
  private readonly retired = new Set<HttpTransport>();
  /** Mutual TLS: the agent's client certificate, and the pool of connections presenting it (its own: a shared pool carries none). */
  private certificate?: ClientCertificate;
  private certificatePool?: http.Agent;
  /** The TLS context of the agent's stream (trusted CAs and its certificate), built once per certificate. */
  private streamContext?: tls.SecureContext;
  private readonly retiredPools = new Set<http.Agent>();

  /** The servers to use, in order; calls go to one of them and move to the next when it cannot be reached. */
  readonly servers: readonly string[];
  private index = 0;

  constructor(
    servers: string | readonly string[],
    private token?: string,
    /** A keep-alive pool shared with other clients (the simulator's many agents); it carries its own trust (connectionPool). */
    private readonly pool?: http.Agent,
    /** CA certificates (PEM) trusted besides Node's root certificates, for an https server (--ca-file). */
    private readonly ca?: string,
    /** Hears a move to another server (it could not be reached). */
    private readonly onSwitch?: (from: string, to: string) => void,
    /**
     * A keep-alive pool for enrolments shared with other clients (the simulator's): apart from
     * `pool`, so a fleet's enrolment storm never queues the enrolled agents' heartbeats behind it.
     * Absent: each enrolment has a connection of its own.
     */
    private readonly enrollPool?: http.Agent,
  ) {
    this.servers = (typeof servers === 'string' ? [servers] : [...servers]).map((u) => u.replace(/\/+$/, ''));
    if (this.servers.length === 0) throw new RangeError('southbound client: give at least one server');
    this.transport = this.newTransport();
  }

  /** The server calls go to now. */
  get server(): string {
    return this.servers[this.index];
  }

  /** Starts at another of the servers (the simulator spreads its nodes across them). */
  startAt(index: number): this {
    const i = ((index % this.servers.length) + this.servers.length) % this.servers.length;
    if (i !== this.index) {
      this.index = i;
      this.replaceTransport();
    }
    return this;
  }

  /**
   * The command stream opened with `url` failed to connect: when that was the current server, the
   * next one is used from now on (the agent reconnects there after its backoff).
   */
  streamFailed(url: string): void {
    const at = this.servers.findIndex((s) => url.startsWith(`${s}/`));
    if (at === this.index) this.failover(at);
  }

  private failover(from: number): void {
    if (this.servers.length < 2 || from !== this.index) return; // a single server, or another call moved on already
    this.index = (this.index + 1) % this.servers.length;
    this.replaceTransport();
    this.onSwitch?.(this.servers[from], this.server);
  }

  /** Runs a call on the current server; one that cannot be reached sends it to the next (each server tried once). */
  private async call<T>(fn: (t: HttpTransport, server: string) => Promise<T>): Promise<T> {
    for (let tried = 1; ; tried++) {
      const at = this.index;
      try {
        return await fn(this.transport, this.server);
      } catch (e) {
        if (!(isEimError(e) && e.code === 'unavailable' && e.cause !== undefined) || tried >= this.servers.length) throw e;
        this.failover(at);
      }
    }
  }

  /** The agent token the calls use now. */
  get currentToken(): string | undefined {
    return this.token;
  }

  /** Uses a (new) agent token for the calls that follow; calls in flight finish on the old one. */
  useToken(token: string): void {
    this.token = token;
    this.replaceTransport();
  }

  /**
   * Presents this client certificate (mutual TLS) on the connections of the calls that follow, and
   * on the stream's next connection; calls in flight finish on theirs.
   */
  useCertificate(certificate: ClientCertificate | undefined): void {
    const pool = this.certificatePool;
    this.certificate = certificate;
    this.certificatePool = undefined;
    this.streamContext = undefined;
    this.replaceTransport(pool);
  }

  /** A new client certificate for a new key (POST /southbound/v1/certificate); the current one stays valid until it expires. */
  async renewCertificate(csr: string): Promise<AgentCertificateResponse> {
    return this.call((t) => t.json<AgentCertificateResponse>({ method: 'POST', path: '/southbound/v1/certificate', body: { csr }, idempotent: true }));
  }

  private newTransport(): HttpTransport {
    if (this.certificate && !this.certificatePool) this.certificatePool = connectionPool(this.server, { ca: this.ca, clientCertificate: this.certificate });
    return new HttpTransport({ server: this.server, token: this.token, retries: 3, agent: this.certificatePool ?? this.pool, ca: this.ca });
  }

  private replaceTransport(retiredPool?: http.Agent): void {
    const old = this.transport;
    this.retired.add(old);
    if (retiredPool) this.retiredPools.add(retiredPool);
    this.transport = this.newTransport();
    setTimeout(() => {
      old.close();
      this.retired.delete(old);
      retiredPool?.destroy();
      if (retiredPool) this.retiredPools.delete(retiredPool);
    }, 60_000).unref();
  }

  /** A fresh agent token for this host (the current one stays valid until it expires). */
  async renew(): Promise<RenewResponse> {
    return this.call((t) => t.json<RenewResponse>({ method: 'POST', path: '/southbound/v1/renew', idempotent: true }));
  }

  async enroll(enrollmentToken: string, identity: EnrollRequest): Promise<EnrollResponse> {
    return this.call(async (_, server) => {
      const t = new HttpTransport({ server, token: enrollmentToken, retries: 3, ca: this.ca, agent: this.enrollPool });
      try {
        return await t.json<EnrollResponse>({ method: 'POST', path: '/southbound/v1/enroll', body: identity, idempotent: true });
      } finally {
        t.close();
      }
    });
  }

  async heartbeat(seq: number): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: '/southbound/v1/heartbeat', body: { seq }, idempotent: true }));
  }

  /** A heartbeat with everything the protocol carries: seq, the kernel boot id, and the interval (the server's lease is 3 of them). */
  async sendHeartbeat(request: HeartbeatRequest): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: '/southbound/v1/heartbeat', body: request, idempotent: true }));
  }

  async reportHardware(report: HardwareReport): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: '/southbound/v1/hardware', body: report, idempotent: true }));
  }

  async reportStatus(status: AgentStatusReport): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: '/southbound/v1/status', body: status, idempotent: true }));
  }

  /** What the agent did with a version of its node config (POST /southbound/v1/node-config). */
  async reportNodeConfig(report: NodeConfigReport): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: '/southbound/v1/node-config', body: report, idempotent: true }));
  }

  async commandResult(id: string, result: CommandResult): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: `/southbound/v1/commands/${encodeURIComponent(id)}/result`, body: result, idempotent: true }));
  }

  /**
   * One OTLP/HTTP JSON batch (`/southbound/v1/otlp/v1/metrics` or `/logs`), numbered
   * `<stream>.<seq>` so a repeat after a lost answer is stored once.
   */
  async exportTelemetry(signal: 'metrics' | 'logs', body: string, batch: string): Promise<void> {
    await this.call((t) => t.send({ method: 'POST', path: `/southbound/v1/otlp/v1/${signal}`, body: JSON.parse(body), headers: { 'x-eim-batch': batch } }));
  }

  /** The URL, headers and TLS context (trusted CAs, client certificate) of the agent's SSE stream (the caller runs the connection). */
  streamRequest(lastEventId?: string): { url: string; headers: Record<string, string>; secureContext?: tls.SecureContext } {
    if (!this.token) throw new EimError('unauthenticated', 'enroll first: the stream needs an agent token');
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${this.token}` };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const url = `${this.server.replace(/\/+$/, '')}/southbound/v1/stream`;
    if (url.startsWith('https:')) this.streamContext ??= secureContextFor(trustedCertificates(this.ca), this.certificate);
    return { url, headers, ...(this.streamContext ? { secureContext: this.streamContext } : {}) };
  }

  close(): void {
    for (const t of this.retired) t.close();
    this.retired.clear();
    this.transport.close();
    for (const p of this.retiredPools) p.destroy();
    this.retiredPools.clear();
    this.certificatePool?.destroy();
  }
}

export type { AgentCommand, CommandResult };
