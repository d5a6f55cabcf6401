import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import {
  AgentCertificateRequest, AgentCertificateResponse, AgentStatusReport, type Caller, CommandResult, EimError, EnrollRequest, EnrollResponse, HARDWARE_REPORT_MAX_BYTES, HardwareReport, HeartbeatRequest,
  type HostNodeConfig, type Inventory, isEimError, jsonEqual, nodeConfigApplyStatus, NodeConfigReport, RenewResponse, type Resource,
} from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { assertValid } from '../../inventory/validate.ts';
import type { TokenService } from '../auth/token-service.ts';
import { eventStream, NO_CONTENT } from '../openapi.ts';
import type { AgentCertificates } from './agent-certificates.ts';
import { AdmissionValve } from './admission-valve.ts';
import { AgentAuth, type AgentCaller } from './agent-auth.ts';
import type { AgentStreams } from './agent-streams.ts';
import { enroll } from './enrolment.ts';
import type { HardwareSync } from './hardware-sync.ts';
import type { LeaseTracker } from './lease-tracker.ts';
import { boundReportedItems } from './node-config-report.ts';
import { KeyedBuckets, type SouthboundLimits } from './southbound-limits.ts';
import { telemetryStatusPatch } from './telemetry-ingest-routes.ts';

export interface SouthboundDeps {
  service: InventoryService;
  tokens: TokenService;
  leases: LeaseTracker;
  hardware: HardwareSync;
  streams: AgentStreams;
  limits: SouthboundLimits;
  /** Mutual TLS for agents: every call but enrolment needs the agent's client certificate. */
  certificates?: AgentCertificates;
}

/** Writes the southbound layer makes on an agent's behalf carry `agent/<hostId>` as their actor. */
const asAgent = (service: InventoryService, project: string, hostId: string): Inventory =>
  service.as({ subject: `agent/${hostId}`, grants: [{ project, role: 'manager' }] });

/**
 * `/southbound/v1`: what agents call (ARCHITECTURE.md §7). Enrolment takes an enrollment token;
 * everything else an agent token, which touches only its own host. Every call is rate-limited
 * (SouthboundLimits): enrolments per enrollment token, the rest per host.
 */
export function registerSouthboundRoutes(app: FastifyInstance, deps: SouthboundDeps): void {
  const { service, tokens, leases, hardware, streams, limits, certificates } = deps;
  const system = service.as({ subject: 'southbound', grants: [{ project: '*', role: 'manager' }] });
  const buckets = {
    enroll: new KeyedBuckets(limits.enroll, 'enrolments for this enrollment token'),
    heartbeat: new KeyedBuckets(limits.heartbeat, 'heartbeats from this host'),
    hardware: new KeyedBuckets(limits.hardware, 'hardware reports from this host'),
    renew: new KeyedBuckets(limits.renew, 'token renewals for this host'),
    certificate: new KeyedBuckets(limits.renew, 'certificate renewals for this host'),
    agent: new KeyedBuckets(limits.agent, 'calls from this host'),
  };

  const enrolments = new AdmissionValve(limits.enrollInFlight, 'enrolments at once');
  const auth = new AgentAuth(tokens, certificates);
  const bearer = (req: FastifyRequest) => auth.bearer(req);
  // The token is checked before the body is read and parsed, as under /v1: without a valid one, a
  // request costs the server its head only (401), whatever it sends after. The handler's own check
  // finds the same answer (AgentAuth remembers it per request).
  const tokenFirst = async (req: FastifyRequest): Promise<void> => void (await auth.bearer(req));
  // An agent's call is admitted from its head too: with mutual TLS its token without its host's
  // certificate is no credential (401), and one with another host's certificate is refused (403),
  // before the body is read. The handler takes the host's rate token (agentOf finds the same admission).
  const agentFirst = async (req: FastifyRequest): Promise<void> => void (await auth.identify(req));

  const agentOf = (req: FastifyRequest, limit: KeyedBuckets = buckets.agent): Promise<AgentCaller> => auth.agent(req, limit);

  const tags = ['Southbound'];

  app.post('/southbound/v1/enroll', { onRequest: tokenFirst, schema: { tags, operationId: 'enrollAgent', summary: 'Enrol an agent with an enrollment token; returns its host-bound agent token', body: EnrollRequest, response: { 200: EnrollResponse } } }, async (req): Promise<EnrollResponse> => {
    const { caller } = await bearer(req);
    if (caller.grants.some((g) => g.role === 'enrollment')) buckets.enroll.take(caller.tokenId ?? caller.subject);
    const leave = enrolments.enter();
    try {
      // With mutual TLS the request's csr is checked first (a bad one enrols nothing), signed once the host is known.
      const csr = certificates && caller.grants.some((g) => g.role === 'enrollment') ? await certificates.checkCsr((req.body as EnrollRequest | undefined)?.csr) : undefined;
      const enrolled = await enroll({ service, tokens, agentTokenTtlSeconds: limits.agentTokenTtlSeconds }, caller, req.body);
      if (!certificates || !csr) return enrolled;
      const issued = await certificates.issue(csr, enrolled.hostId, enrolled.project);
      return { ...enrolled, certificate: issued.certificate, certificateExpiresAt: issued.expiresAt };
    } finally {
      leave();
    }
  });

  app.post(
    '/southbound/v1/certificate',
    { onRequest: agentFirst, schema: { tags, operationId: 'renewAgentCertificate', summary: "A new client certificate for this host's agent, for a new key (mutual TLS for agents; the agent renews before its certificate expires)", body: AgentCertificateRequest, response: { 200: AgentCertificateResponse } } },
    async (req): Promise<AgentCertificateResponse> => {
      if (!certificates) throw new EimError('not_found', 'this server does not issue agent certificates (it runs without --agent-ca-cert and --agent-ca-key)');
      const a = await agentOf(req, buckets.certificate);
      assertValid(AgentCertificateRequest, req.body, 'body');
      const csr = await certificates.checkCsr((req.body as AgentCertificateRequest).csr, 'renewal');
      return certificates.issue(csr, a.hostId, a.project).then((c) => ({ certificate: c.certificate, expiresAt: c.expiresAt }));
    },
  );

  app.post('/southbound/v1/renew', { onRequest: agentFirst, schema: { tags, operationId: 'renewAgentToken', summary: 'A fresh agent token for this host (the agent renews before its token expires)', response: { 200: RenewResponse } } }, async (req): Promise<RenewResponse> => {
    const a = await agentOf(req, buckets.renew);
    // Refuses (and revokes the host's agent tokens) when the host is gone or no longer admitted.
    const admitted = async (): Promise<void> => {
      let host: Resource;
      try {
        host = await system.get(a.project, 'Host', a.hostId);
      } catch (e) {
        if (!(isEimError(e) && e.code === 'not_found')) throw e;
        await tokens.revoke({ hostId: a.hostId });
        throw new EimError('unauthenticated', `host ${a.hostId} no longer exists; its agent tokens are revoked`);
      }
      const desired = (host.spec as { desiredState?: string }).desiredState;
      if (desired === 'untrusted' || desired === 'deleted') {
        await tokens.revoke({ hostId: a.hostId });
        throw new EimError('unauthenticated', `host ${a.hostId} is ${desired === 'deleted' ? 'being deleted' : 'untrusted'}; its agent tokens are revoked`);
      }
    };
    await admitted();
    const issued = await tokens.issue({ subject: `agent/${a.hostId}`, grants: [{ project: a.project, role: 'agent' }], hostId: a.hostId, ttlSeconds: limits.agentTokenTtlSeconds });
    // Again once the new token is stored: an invalidation or delete between the first look and the
    // issue revoked only the tokens that existed then. One committed after this look revokes the new
    // token with the others (it is stored by now), on whichever server handles it.
    await admitted();
    // Revoked by id through another server that this one has not heard from yet: no renewal.
    await tokens.assertNotRevoked(a.caller, issued.id);
    return { token: issued.token, ...(issued.expiresAt ? { expiresAt: issued.expiresAt } : {}) };
  });

  app.post('/southbound/v1/heartbeat', { onRequest: agentFirst, schema: { tags, operationId: 'agentHeartbeat', summary: 'Heartbeat: renews the lease (in memory)', body: HeartbeatRequest, response: NO_CONTENT } }, async (req, reply) => {
    const a = await agentOf(req, buckets.heartbeat);
    const body = (req.body ?? {}) as { intervalSeconds?: number };
    assertValid(HeartbeatRequest, body, 'body');
    leases.beat(a.project, a.hostId, body.intervalSeconds ? body.intervalSeconds * 1000 : undefined);
    return reply.code(204).send();
  });

  app.post(
    '/southbound/v1/hardware',
    { bodyLimit: HARDWARE_REPORT_MAX_BYTES, onRequest: agentFirst, schema: { tags, operationId: 'reportHardware', summary: "The machine's hardware; only changes are written", body: HardwareReport, response: { 200: Type.Object({ writes: Type.Integer() }) } } },
    async (req) => {
      const a = await agentOf(req, buckets.hardware);
      assertValid(HardwareReport, req.body, 'body');
      const writes = await hardware.apply(a.project, a.hostId, req.body as HardwareReport);
      return { writes };
    },
  );

  app.post('/southbound/v1/status', { onRequest: agentFirst, schema: { tags, operationId: 'reportAgentStatus', summary: 'What the agent sees of its own state', body: AgentStatusReport, response: NO_CONTENT } }, async (req, reply) => {
    const a = await agentOf(req);
    assertValid(AgentStatusReport, req.body, 'body');
    const body = req.body as AgentStatusReport;
    const power = body.powerState && body.powerState !== 'unspecified' ? body.powerState : undefined;
    if (!power && body.configVersion === undefined && body.telemetry === undefined) return reply.code(204).send();
    const host = await system.get(a.project, 'Host', a.hostId);
    const cur = host.status as { currentPowerState?: string; telemetry?: { appliedVersion?: string } & Record<string, unknown> };
    const patch: Record<string, unknown> = {};
    if (power && cur.currentPowerState !== power) patch.currentPowerState = power;
    // Only onto a config the telemetry manager computed: a version from elsewhere (an apply-config
    // command, a config from before the host lost its profiles) has no status.telemetry to go with.
    if (body.configVersion !== undefined && cur.telemetry && cur.telemetry.appliedVersion !== body.configVersion) {
      patch.telemetry = { appliedVersion: body.configVersion, appliedAt: new Date().toISOString() };
    }
    const collection = telemetryStatusPatch(cur.telemetry, body.telemetry, new Date());
    if (collection) patch.telemetry = { ...(patch.telemetry as object | undefined), ...collection };
    if (Object.keys(patch).length > 0) await asAgent(service, a.project, a.hostId).updateStatus(a.project, 'Host', a.hostId, patch);
    return reply.code(204).send();
  });

  app.post(
    '/southbound/v1/node-config',
    { onRequest: agentFirst, schema: { tags, operationId: 'reportNodeConfig', summary: "What the agent did with a version of its host's node configuration (per item: applied, removed, dry-run or failed)", body: NodeConfigReport, response: NO_CONTENT } },
    async (req, reply) => {
      const a = await agentOf(req);
      assertValid(NodeConfigReport, req.body, 'body');
      const reported = req.body as NodeConfigReport;
      // Bounded before it goes on the host: the host must keep room for everyone else's writes.
      const body = { version: reported.version, items: boundReportedItems(reported.items) };
      const writer = asAgent(service, a.project, a.hostId);
      // Conditional on the host's revision: a version the manager writes meanwhile is not overwritten by a status computed from the one before.
      for (let attempt = 0; ; attempt++) {
        const host = await system.get(a.project, 'Host', a.hostId);
        const cur = (host.status as { nodeConfig?: HostNodeConfig }).nodeConfig;
        if (!cur) throw new EimError('failed_precondition', `host ${a.hostId} has no node configuration to report on (no account or config applies to it)`);
        const next = { ...cur, appliedVersion: body.version, items: body.items };
        const applyStatus = nodeConfigApplyStatus(next, new Date());
        const same = cur.appliedVersion === body.version && jsonEqual(cur.items ?? [], body.items) && cur.applyStatus?.indicator === applyStatus.indicator && cur.applyStatus?.message === applyStatus.message;
        if (same) return reply.code(204).send();
        try {
          await writer.updateStatus(a.project, 'Host', a.hostId, { nodeConfig: { appliedVersion: body.version, appliedAt: new Date().toISOString(), items: body.items, applyStatus } }, { ifMatch: host.revision });
          return reply.code(204).send();
        } catch (e) {
          if (!(isEimError(e) && e.code === 'conflict') || attempt >= 4) throw e;
        }
      }
    },
  );

  app.post('/southbound/v1/commands/:id/result', { onRequest: agentFirst, schema: { tags, operationId: 'reportCommandResult', summary: "A command's progress or result", body: CommandResult, response: NO_CONTENT } }, async (req, reply) => {
    const a = await agentOf(req);
    assertValid(CommandResult, req.body, 'body');
    const id = (req.params as { id: string }).id;
    if (!/^cmd-[0-9a-f]{8}$/.test(id)) throw new EimError('invalid_argument', `"${id.slice(0, 40)}" is not a command id`);
    let cmd: Resource;
    try {
      cmd = await system.get(a.project, 'Command', id);
    } catch (e) {
      if (isEimError(e) && e.code === 'not_found') throw new EimError('not_found', `command ${id} not found for this host (it may have been cancelled)`);
      throw e;
    }
    if ((cmd.spec as { hostId: string }).hostId !== a.hostId) throw new EimError('not_found', `command ${id} not found for this host`);
    const r = req.body as CommandResult;
    const now = new Date().toISOString();
    const cur = cmd.status as { state?: string; startedAt?: string };
    if (cur.state === 'succeeded' || cur.state === 'failed') return reply.code(204).send(); // a repeat of the final answer
    await asAgent(service, a.project, a.hostId).updateStatus(a.project, 'Command', id, {
      state: r.state,
      ...(r.recoverable !== undefined ? { recoverable: r.recoverable } : {}),
      ...(r.message !== undefined ? { message: r.message } : {}),
      ...(r.progress !== undefined ? { progress: r.progress } : {}),
      ...(r.details !== undefined ? { details: r.details } : {}),
      ...(cur.startedAt ? {} : { startedAt: now }),
      ...(r.state === 'running' ? {} : { endedAt: now }),
    });
    return reply.code(204).send();
  });

  app.get(
    '/southbound/v1/stream',
    { onRequest: agentFirst, schema: { tags, operationId: 'streamAgentCommands', summary: `SSE: commands for this host (and revoked); resumable; at most ${limits.streamsPerHost} open per host (a new one closes the oldest)`, response: eventStream('Commands and config for this host, and revoked when its credentials are') } },
    async (req, reply) => {
      const a = await agentOf(req);
      auth.forget(req);
      reply.hijack();
      if (a.certificateNotAfter !== undefined) endWithCertificate(reply.raw, a.certificateNotAfter - Date.now());
      await streams.serve(a.project, a.hostId, a.token, reply.raw);
    },
  );
}

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Ends a stream when the client certificate it was opened with expires (the agent reconnects with its renewed one). */
function endWithCertificate(raw: ServerResponse, leftMs: number): void {
  let timer: NodeJS.Timeout;
  const arm = (ms: number) => {
    timer = setTimeout(() => (ms > MAX_TIMER_MS ? arm(ms - MAX_TIMER_MS) : raw.end(': closed: the client certificate of this stream has expired\n\n')), Math.min(ms, MAX_TIMER_MS));
    timer.unref();
  };
  arm(Math.max(0, leftMs));
  raw.once('close', () => clearTimeout(timer));
}
