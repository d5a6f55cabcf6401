import { createHash } from 'node:crypto';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { Value } from 'typebox/value';
import { AgentCommand, type AgentStatusReport, type AgentTelemetryReport, HardwareReport, isEimError, NodeConfigPayload } from '../api/index.ts';
import { retryAfterDelay, type SseFrame, sseFrames } from '../client/index.ts';
import { type AgentOptions, type CompiledAgentOptions, compileAgentOptions } from './agent-options.ts';
import type { AgentState } from './agent-state.ts';
import { CertificateKeeper } from './certificate-keeper.ts';
import { sleep } from './clock.ts';
import { CommandJournal } from './command-journal.ts';
import { CommandWorker } from './command-worker.ts';
import { describeIdentity, enrollIdentity } from './discovery/enroll-identity.ts';
import { changedSections, sameHardwareReport, summarizeReport } from './discovery/hardware-report.ts';
import { NodeConfigRunner } from './node-config-runner.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';
import { TelemetryBuffer } from './telemetry/telemetry-buffer.ts';
import { type CollectConfig, TelemetryRunner } from './telemetry/telemetry-runner.ts';

/**
 * Why Agent.run ended. `revoked` and `refused` need an operator (a new enrollment token).
 * `expired`: the agent token ran out (the agent was offline longer than its lifetime); a restart
 * enrols again with the enrollment token it is given.
 */
export type AgentExit = { reason: 'stopped' } | { reason: 'revoked' | 'refused' | 'expired'; message: string };

export interface AgentStats {
  heartbeats: number;
  hardwareReports: number;
  statusReports: number;
  streamConnections: number;
  /** `config` events received on the stream (repeats after a reconnect included). */
  configEvents: number;
  /** Configs applied (from the stream or an apply-config command). */
  configsApplied: number;
  /** Agent tokens renewed. */
  renewals: number;
  /** Client certificates renewed (mutual TLS). */
  certificateRenewals: number;
  /** `node-config` events received on the stream, and node configs applied (retries included). */
  nodeConfigEvents: number;
  nodeConfigsApplied: number;
}

const RETRY_ENROLL = new Set(['not_found', 'unavailable', 'rate_limited', 'internal']);

/**
 * The edge node agent: enrolls (or reuses `<data-dir>/agent.json`), heartbeats, reports its
 * hardware at start and whenever a rescan finds a change, reports its status, and runs the
 * commands of its SSE stream, each at most once. It renews its agent token when 30 to 50 % of
 * the token's lifetime is left, and saves the new one in agent.json (atomically). A `revoked`
 * event or any 401 ends it: the token is deleted, and only a new enrollment token brings it back;
 * an expired token (the agent was offline too long) ends it with `expired`, and it enrols again
 * on its next start.
 * @example const exit = await new Agent({ server, enrollmentToken, dataDir, discovery: new LinuxDiscovery(), executor }).run()
 */
export class Agent {
  readonly options: CompiledAgentOptions;
  readonly stats: AgentStats = { heartbeats: 0, hardwareReports: 0, statusReports: 0, streamConnections: 0, configEvents: 0, configsApplied: 0, renewals: 0, certificateRenewals: 0, nodeConfigEvents: 0, nodeConfigsApplied: 0 };
  private readonly stopping = new AbortController();
  private state?: AgentState;
  private exit?: AgentExit;
  private firstScan?: HardwareReport;
  private statusDirty = true;
  private statusChain: Promise<void> = Promise.resolve();
  private worker?: CommandWorker;
  /** Applies the node configuration of the stream. */
  nodeConfig?: NodeConfigRunner;
  /** When to renew the agent token (clock time); undefined: never (no lifetime to renew within). */
  private renewAt?: number;
  /** The command stream's connection now: aborted to reconnect with a renewed token. */
  private streamConnection?: AbortController;
  /** The client certificate for mutual TLS (when the server signs one). */
  private readonly certificates: CertificateKeeper;
  /** Collects what the telemetry config names (when the agent has a telemetry source). */
  telemetry?: TelemetryRunner;
  private telemetryVersion?: string;
  private telemetryReport?: AgentTelemetryReport;

  constructor(options: AgentOptions) {
    this.options = compileAgentOptions(options);
    const o = this.options;
    this.certificates = new CertificateKeeper({ store: o.certificateStore, client: o.client, clock: o.clock, random: o.random, log: o.log, server: o.server, retryMs: Math.min(60_000, 10 * o.heartbeatMs) });
  }

  get hostId(): string | undefined {
    return this.state?.hostId;
  }

  /** Enrolls if needed, then works until stop(), a revocation, or a refused enrollment. */
  async run(): Promise<AgentExit> {
    const o = this.options;
    try {
      const enrolled = await this.enroll();
      if (!enrolled) return this.exit ?? { reason: 'stopped' };
      this.state = enrolled;
      this.certificates.start();
      o.client.useToken(enrolled.token!);
      this.scheduleRenewal(enrolled.token!);
      const journal = new CommandJournal({ file: o.dataDir ? path.join(o.dataDir, 'commands.json') : undefined, now: () => o.clock.now() });
      this.worker = new CommandWorker({
        client: o.client,
        executor: o.executor,
        journal,
        log: o.log,
        clock: o.clock,
        signal: this.stopping.signal,
        bootId: o.bootId,
        progressIntervalMs: o.progressIntervalMs,
        backoff: () => this.backoff(),
        onUnauthenticated: (e) => this.revoke(`the server refused the agent token (${e.message})`),
        onSucceeded: (c) => this.applied(c),
        context: () => (this.state?.osId ? { osId: this.state.osId } : {}),
      });
      this.nodeConfig = new NodeConfigRunner({
        executor: o.executor,
        report: (r) => o.client.reportNodeConfig(r),
        load: () => this.state?.nodeConfig,
        save: (memory, appliedVersion) => {
          if (!this.state) return;
          this.state.nodeConfig = { ...memory, appliedVersion };
          this.stats.nodeConfigsApplied++;
          o.stateStore.save(this.state);
        },
        log: o.log,
        clock: o.clock,
        signal: this.stopping.signal,
        backoff: () => this.backoff(),
        onUnauthenticated: (e) => this.unauthenticated(e as { message?: string }, 'node config report'),
      });
      this.startTelemetry(enrolled.hostId);
      o.log.info(
        `agent for host ${enrolled.hostId} (project ${enrolled.project}) on ${o.servers.join(', ')}: heartbeat every ${o.heartbeatMs / 1000} s, rescan every ${o.rescanMs / 1000} s, ${o.executor.name} executor`,
      );
      let fatal: unknown;
      // The loops handle the errors they expect; anything else (a full disk under agent.json) ends the agent.
      const loops = Promise.all([this.heartbeatLoop(), this.hardwareLoop(), this.streamLoop()]).catch((e: unknown) => {
        fatal = e;
        o.log.error(`the agent failed: ${(e as Error).message}`);
        this.stopping.abort();
      });
      // Stopped already (SIGTERM while enrolling) or later: either way, wind down.
      await sleep(o.clock, Infinity, this.stopping.signal);
      // Give in-flight calls (a command's final result above all) a moment, not forever.
      const grace = new AbortController();
      await Promise.race([Promise.all([loops, this.worker.idle(), this.nodeConfig.idle()]), sleep(o.clock, o.stopGraceMs, grace.signal)]);
      grace.abort();
      if (fatal) throw fatal;
      return this.exit ?? { reason: 'stopped' };
    } finally {
      this.stopping.abort();
      this.telemetry?.stop();
      o.client.close();
    }
  }

  private startTelemetry(hostId: string): void {
    const o = this.options;
    if (!o.telemetry) return;
    const buffer = new TelemetryBuffer({ dir: o.dataDir ? path.join(o.dataDir, 'telemetry') : undefined, maxBytes: o.telemetryBufferBytes });
    this.telemetry = new TelemetryRunner({
      metrics: o.telemetry.metrics,
      logs: o.telemetry.logs,
      buffer,
      send: (signal, body, batch) => o.client.exportTelemetry(signal, body, batch),
      onReport: (r) => {
        this.telemetryReport = r;
        this.statusDirty = true;
      },
      onUnauthenticated: (e) => this.unauthenticated(e as { message?: string }, 'telemetry'),
      clock: o.clock,
      log: o.log,
      resource: { 'service.name': 'eim-agent', 'host.id': hostId },
      logPollMs: o.logPollMs,
      backoffMinMs: o.backoffMinMs,
      backoffMaxMs: o.backoffMaxMs,
    });
    this.telemetry.start();
  }

  /** A telemetry config (from the stream or an apply-config command): collection follows it at once. */
  private collect(version: string, config: unknown): void {
    if (!this.telemetry || version === this.telemetryVersion) return;
    this.telemetryVersion = version;
    this.telemetry.configure((config ?? {}) as CollectConfig);
  }

  /** Stops heartbeats, the stream and the running command; run() then resolves `stopped`. */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.options.log.info('stopping');
    this.stopping.abort();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private backoff(): ReconnectBackoff {
    return new ReconnectBackoff({ minMs: this.options.backoffMinMs, maxMs: this.options.backoffMaxMs, random: this.options.random });
  }

  private refuse(message: string): undefined {
    this.options.log.error(message);
    this.exit = { reason: 'refused', message };
    this.stopping.abort();
    return undefined;
  }

  private async enroll(): Promise<AgentState | undefined> {
    const o = this.options;
    let state = o.stateStore.load();
    if (state && !o.servers.includes(state.server)) {
      o.log.warn(`${o.stateStore.location} belongs to ${state.server}, not ${o.server}: enrolling with ${o.server}`);
      state = undefined;
    }
    if (state?.token) return state;
    const expired = state?.expiredAt ? `the agent token of host ${state.hostId} expired (noticed at ${state.expiredAt}; the agent was offline longer than the token's lifetime)` : undefined;
    const revoked = state?.revokedAt ? `host ${state.hostId} was invalidated or deleted (its agent token was revoked at ${state.revokedAt})` : undefined;
    if (!o.enrollmentToken) {
      return this.refuse(`${revoked ?? expired ?? 'this agent has not enrolled yet'}: enrolling needs ${revoked ? 'a new' : 'an'} enrollment token (--enrollment-token or --enrollment-token-file)`);
    }
    const tokenHash = createHash('sha256').update(o.enrollmentToken).digest('hex');
    if (revoked && state?.enrollmentTokenSha256 === tokenHash) {
      return this.refuse(`${revoked}; the enrollment token given is the one it enrolled with: re-enrolling needs a new enrollment token (or delete ${o.stateStore.location} to start over)`);
    }
    const backoff = this.backoff();
    while (!this.stopped) {
      const report = await o.discovery.scan().catch((e: Error) => {
        o.log.warn(`discovery failed before enrolling: ${e.message}`);
        return undefined;
      });
      const identity = enrollIdentity(report ?? { hardware: {}, nics: [], storages: [], gpus: [], usbs: [] });
      try {
        const request = await this.certificates.request(identity.hostname);
        const r = await o.client.enroll(o.enrollmentToken, { ...identity, ...(request ? { csr: request.csr } : {}) });
        this.certificates.enrolled(request, r);
        const enrolled: AgentState = { server: o.server, hostId: r.hostId, project: r.project, token: r.token, enrolledAt: new Date(o.clock.now()).toISOString(), enrollmentTokenSha256: tokenHash };
        o.stateStore.save(enrolled);
        o.log.info(`enrolled as host ${r.hostId} in project ${r.project} (${describeIdentity(identity)}); saved ${o.stateStore.location}`);
        this.firstScan = report;
        return enrolled;
      } catch (e) {
        if (!isEimError(e)) throw e;
        if (e.code === 'unauthenticated') return this.refuse(`the server refused the enrollment token (${e.message}): it is expired, revoked or mistyped; get a new one`);
        if (e.code === 'permission_denied') return this.refuse(`the server refused to enroll this host: ${e.message}`);
        if (!RETRY_ENROLL.has(e.code)) return this.refuse(`enrollment failed: ${e.message} (${e.code})`);
        // A server shedding an enrolment storm says when to come back (jittered so the agents it
        // turned away together do not return together); otherwise back off exponentially.
        const delay = retryAfterDelay(e, o.random) || backoff.next();
        o.log.warn(`enrollment failed: ${e.message}; trying again in ${(delay / 1000).toFixed(1)} s`);
        await sleep(o.clock, delay, this.stopping.signal);
      }
    }
    return undefined;
  }

  /** Any 401, or a `revoked` event: forget the token and stop for good. */
  private revoke(reason: string): void {
    if (this.exit?.reason === 'revoked' || !this.state) return;
    const o = this.options;
    const { token: _dropped, ...rest } = this.state;
    this.state = { ...rest, revokedAt: new Date(o.clock.now()).toISOString(), revokedReason: reason };
    o.stateStore.save(this.state);
    const message = `host ${this.state.hostId} was invalidated or deleted: ${reason}. The agent token was deleted from ${o.stateStore.location}; heartbeats stopped. Re-enrolling needs a new enrollment token.`;
    o.log.error(message);
    this.exit = { reason: 'revoked', message };
    this.stopping.abort();
  }

  /**
   * The token expired, or the server refused the client certificate (missing, expired, from another
   * CA): forget them and stop; the next start enrols again (the host keeps its identity).
   */
  private expire(reason: string, certificate = false): void {
    if (this.exit || !this.state) return;
    const o = this.options;
    const { token: _dropped, ...rest } = this.state;
    this.state = { ...rest, expiredAt: new Date(o.clock.now()).toISOString() };
    if (certificate) this.certificates.forget();
    o.stateStore.save(this.state);
    const message = certificate
      ? `the server refused the client certificate of host ${this.state.hostId} (${reason}). The agent token was deleted from ${o.stateStore.location}; start the agent again with an enrollment token to enrol again (and get a certificate).`
      : `the agent token of host ${this.state.hostId} expired (${reason}): the agent was offline longer than the token's lifetime. It was deleted from ${o.stateStore.location}; start the agent again with an enrollment token to enrol again.`;
    o.log.error(message);
    this.exit = { reason: 'expired', message };
    this.stopping.abort();
  }

  /** A 401: the token expired (details.reason), or it was revoked. */
  private unauthenticated(e: { message?: string; details?: Record<string, unknown> }, what: string): void {
    if (e.details?.reason === 'expired') this.expire(`the server said so on ${what}`);
    else if (e.details?.reason === 'client-certificate') this.expire(`${e.message}, on ${what}`, true);
    else this.revoke(`the server refused the agent token on ${what} (${e.message})`);
  }

  private failedCall(e: unknown, what: string): string | undefined {
    if (isEimError(e) && e.code === 'unauthenticated') {
      this.unauthenticated(e, what);
      return undefined;
    }
    return (e as Error).message;
  }

  /**
   * Plans the renewal of `token`: when 30 to 50 % of its lifetime is left (spread, so a fleet
   * enrolled together does not renew together). A token without an expiry (from an older server)
   * is renewed at once, to get one that expires.
   */
  private scheduleRenewal(token: string): void {
    let claims: { exp?: number; iat?: number };
    try {
      claims = decodeJwt(token);
    } catch {
      this.renewAt = undefined;
      return;
    }
    const now = this.options.clock.now();
    if (claims.exp === undefined) {
      this.renewAt = now;
      return;
    }
    const left = claims.exp * 1000 - Date.now();
    const lifetime = (claims.exp - (claims.iat ?? claims.exp)) * 1000 || left;
    this.renewAt = now + Math.max(0, left - lifetime * (0.3 + 0.2 * this.options.random()));
  }

  /** Renews the agent token, saves it in agent.json, and moves the calls and the stream onto it. */
  private async renew(): Promise<void> {
    const o = this.options;
    try {
      const r = await o.client.renew();
      if (this.stopped || !this.state) return;
      this.state = { ...this.state, token: r.token };
      o.stateStore.save(this.state);
      o.client.useToken(r.token);
      this.scheduleRenewal(r.token);
      this.stats.renewals++;
      this.streamConnection?.abort();
      o.log.info(`renewed the agent token${r.expiresAt ? ` (valid until ${r.expiresAt})` : ''}; saved ${o.stateStore.location}`);
    } catch (e) {
      const message = this.failedCall(e, 'token renewal');
      if (message === undefined) return;
      const retryAfter = Number((e as { details?: { retryAfterSeconds?: number } }).details?.retryAfterSeconds ?? 0) * 1000;
      const notHere = isEimError(e) && e.code === 'not_found'; // a server from before renewal
      this.renewAt = o.clock.now() + (notHere ? 3_600_000 : Math.max(retryAfter, Math.min(60_000, 10 * o.heartbeatMs)));
      o.log.warn(`renewing the agent token failed: ${message}; trying again in ${Math.round((this.renewAt - o.clock.now()) / 1000)} s`);
    }
  }

  /** Renews the client certificate and moves the stream onto it. */
  private async renewCertificate(): Promise<void> {
    try {
      if ((await this.certificates.renew()) === 'renewed') this.stats.certificateRenewals++;
      this.streamConnection?.abort();
    } catch (e) {
      const message = this.failedCall(e, 'certificate renewal');
      if (message !== undefined) this.options.log.warn(`renewing the client certificate failed: ${message}; trying again later`);
    }
  }

  private async heartbeatLoop(): Promise<void> {
    const o = this.options;
    let seq = 0;
    let failing = false;
    let next = o.clock.now();
    while (!this.stopped) {
      try {
        await o.client.sendHeartbeat({ seq: seq++, intervalSeconds: o.heartbeatMs / 1000, ...(o.bootId ? { bootId: o.bootId.slice(0, 64) } : {}) });
        this.stats.heartbeats++;
        if (failing) o.log.info('heartbeats reach the server again');
        failing = false;
      } catch (e) {
        const message = this.failedCall(e, 'heartbeat');
        if (message === undefined) return;
        if (!failing) o.log.warn(`heartbeat failed: ${message}; trying again every ${o.heartbeatMs / 1000} s`);
        failing = true;
      }
      if (this.statusDirty && !this.stopped) await this.reportStatus();
      if (this.renewAt !== undefined && o.clock.now() >= this.renewAt && !this.stopped) await this.renew();
      if (this.certificates.due() && !this.stopped) await this.renewCertificate();
      // On schedule; after a slow call, one beat at once and then on schedule again (no burst to catch up).
      next = Math.max(next + o.heartbeatMs, o.clock.now());
      await sleep(o.clock, Math.max(0, next - o.clock.now()), this.stopping.signal);
    }
  }

  private reportStatus(): Promise<void> {
    this.statusChain = this.statusChain.then(async () => {
      if (this.stopped || !this.state) return;
      const s = this.state;
      const status: AgentStatusReport = {
        powerState: this.options.executor.powerState?.() ?? 'on',
        ...(s.configVersion ? { configVersion: s.configVersion } : {}),
        ...(s.osId ? { osId: s.osId } : {}),
        ...(this.telemetryReport ? { telemetry: this.telemetryReport } : {}),
      };
      this.statusDirty = false;
      try {
        await this.options.client.reportStatus(status);
        this.stats.statusReports++;
      } catch (e) {
        this.statusDirty = true; // sent again with the next heartbeat
        const message = this.failedCall(e, 'status report');
        if (message !== undefined) this.options.log.warn(`status report failed: ${message}`);
      }
    });
    return this.statusChain;
  }

  /** A command changed what the agent reports about itself: remember it and report the status. */
  private applied(command: AgentCommand): void {
    if (!this.state) return;
    const p = command.params;
    if (command.type === 'apply-config') {
      this.state.configVersion = String(p.version);
      this.collect(String(p.version), p.config);
      this.stats.configsApplied++;
    }
    if ((command.type === 'install-os' || command.type === 'update-os') && typeof p.osId === 'string') this.state.osId = p.osId;
    if (command.type === 'wipe') return;
    this.statusDirty = true;
    // A power command's result says the state it left the machine in, and the host manager writes
    // that from the result: the report waits for the next heartbeat, where the server finds nothing
    // new to write (at once, it was a second write on the path of every power change).
    if (command.type === 'power') return;
    this.options.stateStore.save(this.state);
    void this.reportStatus();
  }

  private async hardwareLoop(): Promise<void> {
    const o = this.options;
    let last: HardwareReport | undefined;
    const backoff = this.backoff();
    while (!this.stopped) {
      let delay = o.rescanMs;
      try {
        const report = this.firstScan ?? (await o.discovery.scan());
        this.firstScan = undefined;
        if (!sameHardwareReport(report, last)) {
          if (!Value.Check(HardwareReport, report)) {
            const first = [...Value.Errors(HardwareReport, report)][0];
            o.log.error(`discovery produced a report the schema refuses (${first?.instancePath ?? ''} ${first?.message ?? ''}); not sending it`);
            last = report;
          } else {
            await o.client.reportHardware(report);
            this.stats.hardwareReports++;
            o.log.info(last ? `hardware changed (${changedSections(last, report).join(', ')}): reported it again` : `reported hardware: ${summarizeReport(report)}`);
            last = report;
          }
        }
        backoff.reset();
      } catch (e) {
        const message = this.failedCall(e, 'hardware report');
        if (message === undefined) return;
        if (isEimError(e) && e.code === 'invalid_argument') {
          o.log.error(`the server refused the hardware report: ${message}`);
        } else {
          delay = Math.min(o.rescanMs, backoff.next());
          o.log.warn(`hardware report failed: ${message}; trying again in ${(delay / 1000).toFixed(1)} s`);
        }
      }
      await sleep(o.clock, delay, this.stopping.signal);
    }
  }

  private async streamLoop(): Promise<void> {
    const o = this.options;
    const backoff = this.backoff();
    let lastEventId: string | undefined;
    while (!this.stopped) {
      let received = false;
      // One connection, aborted on stop and when a renewed token replaces the one it was opened with.
      const connection = new AbortController();
      const onStop = () => connection.abort();
      this.stopping.signal.addEventListener('abort', onStop, { once: true });
      this.streamConnection = connection;
      const token = o.client.currentToken;
      let streamUrl: string | undefined;
      try {
        this.stats.streamConnections++;
        const request = o.client.streamRequest(lastEventId);
        streamUrl = request.url;
        for await (const frame of sseFrames({ ...request, signal: connection.signal, idleTimeoutMs: o.streamIdleTimeoutMs })) {
          if (!received) backoff.reset();
          received = true;
          if (frame.id) lastEventId = frame.id;
          // An error about a token renewed away since (it expired on the server first) is no news.
          if (frame.event === 'ERROR' && token !== o.client.currentToken) break;
          this.onFrame(frame);
          if (this.stopped) return;
        }
        if (!this.stopped && !connection.signal.aborted && token === o.client.currentToken) o.log.warn('the server closed the command stream');
      } catch (e) {
        if (this.stopped) return;
        if (!connection.signal.aborted) {
          // A server that cannot be reached: the next of several is tried at the reconnect.
          if (!received && streamUrl && isEimError(e) && e.code === 'unavailable') o.client.streamFailed(streamUrl);
          const message = this.failedCall(e, 'command stream');
          if (message === undefined || this.stopped) return;
          o.log.warn(`command stream lost: ${message}`);
        }
      } finally {
        this.stopping.signal.removeEventListener('abort', onStop);
      }
      if (this.stopped) return;
      // Renewed: reconnect with the new token at once.
      if (connection.signal.aborted || token !== o.client.currentToken) continue;
      const delay = backoff.next();
      o.log.info(`reconnecting the command stream in ${(delay / 1000).toFixed(1)} s${lastEventId ? ` (resuming after event ${lastEventId})` : ''}`);
      await sleep(o.clock, delay, this.stopping.signal);
    }
  }

  private onFrame(frame: SseFrame): void {
    const o = this.options;
    if (frame.event === 'revoked') return this.revoke('the server revoked this agent (revoked event)');
    if (frame.event !== 'command' && frame.event !== 'config' && frame.event !== 'node-config' && frame.event !== 'ERROR') return;
    let data: unknown;
    try {
      data = JSON.parse(frame.data);
    } catch {
      o.log.warn(`ignored a ${frame.event} event that is not JSON`);
      return;
    }
    if (frame.event === 'ERROR') {
      const err = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }).error;
      if (err?.code === 'unauthenticated') return this.unauthenticated(err, 'the command stream');
      o.log.warn(`the command stream reported an error: ${err?.message ?? frame.data}`);
    } else if (frame.event === 'node-config') {
      this.stats.nodeConfigEvents++;
      if (Value.Check(NodeConfigPayload, data)) return this.nodeConfig!.offer(data);
      const first = [...Value.Errors(NodeConfigPayload, data)][0];
      o.log.warn(`ignored a node-config event the agent could not read: ${first?.instancePath ?? ''} ${first?.message ?? 'invalid'}`);
    } else if (frame.event === 'command') {
      if (Value.Check(AgentCommand, data)) return this.worker!.enqueue(data);
      const first = [...Value.Errors(AgentCommand, data)][0];
      const why = `the agent could not read this command: ${first?.instancePath ?? ''} ${first?.message ?? 'invalid'}`;
      o.log.warn(`ignored a command: ${why}`);
      const id = (data as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && id !== '') this.worker!.reject(id, why);
    } else {
      this.stats.configEvents++;
      const { version, config } = (data ?? {}) as { version?: unknown; config?: unknown };
      if (version === undefined) return o.log.warn('ignored a config event without a version');
      // After a restart the version is applied already, but nothing collects yet: follow it.
      this.collect(String(version), config);
      if (String(version) !== this.state?.configVersion) this.worker!.enqueueConfig(String(version), config);
    }
  }
}
