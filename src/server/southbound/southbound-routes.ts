import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import {
  AGENT_ENROLLED, AgentStatusReport, type Caller, CommandResult, EimError, EnrollRequest, EnrollResponse, HardwareReport, HeartbeatRequest,
  type Inventory, isEimError, type Resource,
} from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { assertValid } from '../../inventory/validate.ts';
import type { TokenService } from '../auth/token-service.ts';
import { eventStream, NO_CONTENT } from '../openapi.ts';
import type { AgentStreams } from './agent-streams.ts';
import type { HardwareSync } from './hardware-sync.ts';
import type { LeaseTracker } from './lease-tracker.ts';

export interface SouthboundDeps {
  service: InventoryService;
  tokens: TokenService;
  leases: LeaseTracker;
  hardware: HardwareSync;
  streams: AgentStreams;
}

/** Writes the southbound layer makes on an agent's behalf carry `agent/<hostId>` as their actor. */
const asAgent = (service: InventoryService, project: string, hostId: string): Inventory =>
  service.as({ subject: `agent/${hostId}`, grants: [{ project, role: 'manager' }] });

declare module 'fastify' {
  interface FastifyRequest {
    agent?: { project: string; hostId: string; caller: Caller };
  }
}

/**
 * `/southbound/v1`: what agents call (ARCHITECTURE.md §7). Enrolment takes an enrollment token;
 * everything else an agent token, which touches only its own host.
 */
export function registerSouthboundRoutes(app: FastifyInstance, deps: SouthboundDeps): void {
  const { service, tokens, leases, hardware, streams } = deps;
  const system = service.as({ subject: 'southbound', grants: [{ project: '*', role: 'manager' }] });

  const bearer = async (req: FastifyRequest): Promise<Caller> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new EimError('unauthenticated', 'missing Authorization: Bearer <token> (an enrollment token to enroll, then the agent token it returned)');
    return tokens.verify(m[1]);
  };

  const agentOf = async (req: FastifyRequest) => {
    const caller = await bearer(req);
    const grant = caller.grants.find((g) => g.role === 'agent');
    if (!grant || !caller.hostId) throw new EimError('permission_denied', 'this call needs an agent token (the one enrolment returned)');
    return { project: grant.project, hostId: caller.hostId, caller };
  };

  const tags = ['Southbound'];

  app.post('/southbound/v1/enroll', { schema: { tags, operationId: 'enrollAgent', summary: 'Enrol an agent with an enrollment token; returns its host-bound agent token', body: EnrollRequest, response: { 200: EnrollResponse } } }, async (req): Promise<EnrollResponse> => {
    const caller = await bearer(req);
    const grant = caller.grants.find((g) => g.role === 'enrollment');
    if (!grant) throw new EimError('permission_denied', 'enrolment needs an enrollment token (eim token create --role enrollment)');
    const project = grant.project;
    assertValid(EnrollRequest, req.body, 'body');
    const id = req.body as EnrollRequest;
    if (!id.uuid && !id.serialNumber && !caller.autoRegister) {
      throw new EimError('invalid_argument', 'this machine reports neither a uuid nor a serial number, so it cannot be matched to a registered host; enrol it with an enrollment token made with autoRegister');
    }
    let host = id.uuid || id.serialNumber ? await findHost(system, project, id) : undefined;
    if (host) {
      const desired = (host.spec as { desiredState?: string }).desiredState;
      if (desired === 'untrusted') throw new EimError('permission_denied', `host ${host.id} is untrusted (invalidated); delete it and register it again to re-admit this machine`);
      if (desired === 'deleted') throw new EimError('not_found', `host ${host.id} is being deleted; register the machine again after it is gone`);
    } else if (caller.autoRegister) {
      host = await autoRegister(system, project, id);
    } else {
      throw new EimError('not_found', `no host in project "${project}" is registered with ${id.uuid ? `uuid ${id.uuid}` : ''}${id.uuid && id.serialNumber ? ' or ' : ''}${id.serialNumber ? `serial number ${id.serialNumber}` : ''}; register it first (eim create host NAME --set spec.uuid=…) or use an enrollment token made with autoRegister`);
    }
    // Earlier agent tokens of the host stay valid: an agent whose first enrolment answer was lost
    // (a timeout) enrols again, and revoking here could revoke the token it ends up holding.
    // Invalidating or deleting the host revokes them all.
    const issued = await tokens.issue({ subject: `agent/${host.id}`, grants: [{ project, role: 'agent' }], hostId: host.id });
    await asAgent(service, project, host.id).updateStatus(project, 'Host', host.id, {
      registrationStatus: { indicator: 'idle', message: `${AGENT_ENROLLED} from ${id.hostname}`, timestamp: new Date().toISOString() },
    });
    return { hostId: host.id, project, token: issued.token };
  });

  app.post('/southbound/v1/heartbeat', { schema: { tags, operationId: 'agentHeartbeat', summary: 'Heartbeat: renews the lease (in memory)', body: HeartbeatRequest, response: NO_CONTENT } }, async (req, reply) => {
    const a = await agentOf(req);
    const body = (req.body ?? {}) as { intervalSeconds?: number };
    assertValid(HeartbeatRequest, body, 'body');
    leases.beat(a.project, a.hostId, body.intervalSeconds ? body.intervalSeconds * 1000 : undefined);
    return reply.code(204).send();
  });

  app.post('/southbound/v1/hardware', { schema: { tags, operationId: 'reportHardware', summary: "The machine's hardware; only changes are written", body: HardwareReport, response: { 200: Type.Object({ writes: Type.Integer() }) } } }, async (req) => {
    const a = await agentOf(req);
    assertValid(HardwareReport, req.body, 'body');
    const writes = await hardware.apply(a.project, a.hostId, req.body as HardwareReport);
    return { writes };
  });

  app.post('/southbound/v1/status', { schema: { tags, operationId: 'reportAgentStatus', summary: 'What the agent sees of its own state', body: AgentStatusReport, response: NO_CONTENT } }, async (req, reply) => {
    const a = await agentOf(req);
    assertValid(AgentStatusReport, req.body, 'body');
    const body = req.body as AgentStatusReport;
    const power = body.powerState && body.powerState !== 'unspecified' ? body.powerState : undefined;
    if (!power && body.configVersion === undefined) return reply.code(204).send();
    const host = await system.get(a.project, 'Host', a.hostId);
    const cur = host.status as { currentPowerState?: string; telemetry?: { appliedVersion?: string } };
    const patch: Record<string, unknown> = {};
    if (power && cur.currentPowerState !== power) patch.currentPowerState = power;
    // Only onto a config the telemetry manager computed: a version from elsewhere (an apply-config
    // command, a config from before the host lost its profiles) has no status.telemetry to go with.
    if (body.configVersion !== undefined && cur.telemetry && cur.telemetry.appliedVersion !== body.configVersion) {
      patch.telemetry = { appliedVersion: body.configVersion, appliedAt: new Date().toISOString() };
    }
    if (Object.keys(patch).length > 0) await asAgent(service, a.project, a.hostId).updateStatus(a.project, 'Host', a.hostId, patch);
    return reply.code(204).send();
  });

  app.post('/southbound/v1/commands/:id/result', { schema: { tags, operationId: 'reportCommandResult', summary: "A command's progress or result", body: CommandResult, response: NO_CONTENT } }, async (req, reply) => {
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

  app.get('/southbound/v1/stream', { schema: { tags, operationId: 'streamAgentCommands', summary: 'SSE: commands for this host (and revoked); resumable', response: eventStream('Commands and config for this host, and revoked when its credentials are') } }, async (req, reply) => {
    const a = await agentOf(req);
    reply.hijack();
    await streams.serve(a.project, a.hostId, reply.raw);
  });
}

async function findHost(inv: Inventory, project: string, id: EnrollRequest): Promise<Resource | undefined> {
  const tries: string[] = [];
  if (id.uuid) tries.push(`spec.uuid = "${id.uuid}"`, `spec.uuid = "${id.uuid.toLowerCase()}"`, `spec.uuid = "${id.uuid.toUpperCase()}"`);
  if (id.serialNumber) tries.push(`spec.serialNumber = "${id.serialNumber.replace(/["\\\\]/g, '')}"`);
  for (const filter of tries) {
    const page = await inv.list(project, 'Host', { filter, pageSize: 2 });
    if (page.items.length > 0) return page.items[0] as Resource;
  }
  return undefined;
}

async function autoRegister(inv: Inventory, project: string, id: EnrollRequest): Promise<Resource> {
  const base = id.hostname.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100) || 'host';
  const uuidOk = id.uuid && /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(id.uuid);
  const spec = { desiredState: 'onboarded', ...(uuidOk ? { uuid: id.uuid!.toLowerCase() } : {}), ...(id.serialNumber ? { serialNumber: id.serialNumber } : {}) };
  for (let i = 0; i < 5; i++) {
    const name = i === 0 ? base : `${base}-${Math.random().toString(16).slice(2, 6)}`;
    try {
      return (await inv.create(project, 'Host', { name, labels: { 'eim.auto-registered': 'true' }, spec })) as Resource;
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict')) throw e;
    }
  }
  throw new EimError('conflict', `could not find a free host name for "${base}"`);
}

