import {
  AGENT_ENROLLED, ALL_PROJECTS, type Caller, EimError, EnrollRequest, type EnrollResponse, type Inventory, isEimError, placeholderWarning, printable, type Resource, type UsableIdentity, usableIdentity,
} from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { assertValid } from '../../inventory/validate.ts';
import type { TokenService } from '../auth/token-service.ts';

export interface EnrolmentDeps {
  service: InventoryService;
  tokens: TokenService;
  /** Lifetime of the agent tokens enrolment mints. */
  agentTokenTtlSeconds: number;
}

/**
 * POST /southbound/v1/enroll (ARCHITECTURE.md §7). The machine's identity (uuid, serial number)
 * is validated by the schema, vendor placeholders are dropped, and the host is found by exact
 * equality through the store's identity index, never through filter text. One host or none: an
 * identity whose uuid and serial number point at two hosts is refused.
 *
 * Retries are safe and cheap: an enrolment is one write transaction that records the agent token
 * together with the host status naming the enrolment (and checks, inside it, that the host is still
 * admitted), grouped with concurrent ones into one commit. Each enrolment's token stays valid
 * whichever of a machine's racing enrolments the agent ends up keeping (until it expires, or the
 * host is invalidated or deleted), and a refused or failed enrolment leaves no valid token (one
 * whose enrollment token turns out revoked in the store revokes the agent token it stored). Two
 * autoRegister enrolments of one machine racing each other end on one host (the identity is unique
 * per project; the loser finds the winner's host).
 */
export async function enroll(deps: EnrolmentDeps, caller: Caller, body: unknown): Promise<EnrollResponse> {
  const { service, tokens } = deps;
  const grant = caller.grants.find((g) => g.role === 'enrollment');
  if (!grant) throw new EimError('permission_denied', 'enrolment needs an enrollment token (eim token create --role enrollment)');
  if (grant.project === ALL_PROJECTS) {
    throw new EimError('permission_denied', 'this enrollment token is for every project ("*"), and "*" is never a project: enrol with an enrollment token of the host\'s project');
  }
  const project = grant.project;
  assertValid(EnrollRequest, body, 'body');
  const req = body as EnrollRequest;
  const id = usableIdentity(req);
  if (!id.uuid && !id.serialNumber && !caller.autoRegister) {
    const why = id.ignored.length > 0 ? `it reports only ${placeholderWarning(id.ignored)}` : 'it reports neither a uuid nor a serial number';
    throw new EimError('invalid_argument', `this machine cannot be matched to a registered host: ${why}; enrol it with an enrollment token made with autoRegister`);
  }
  const system = service.as({ subject: 'southbound', grants: [{ project, role: 'manager' }] });
  let hostId = await findHost(service, project, id);
  if (!hostId) {
    if (!caller.autoRegister) {
      const what = [id.uuid && `uuid ${id.uuid}`, id.serialNumber && `serial number ${id.serialNumber}`].filter(Boolean).join(' or ');
      throw new EimError('not_found', `no host in project "${project}" is registered with ${what}; register it first (eim create host NAME --set spec.uuid=…) or use an enrollment token made with autoRegister`);
    }
    hostId = await autoRegister(service, system, project, req, id);
  }
  const { issued, record } = await tokens.sign({ subject: `agent/${hostId}`, grants: [{ project, role: 'agent' }], hostId, ttlSeconds: deps.agentTokenTtlSeconds });
  const warning = placeholderWarning(id.ignored);
  // The hostname is the machine's word: its control characters are stored shown, so no view of the
  // message (a terminal's above all) obeys them. The auto-registered name was sanitized already.
  const message = `${AGENT_ENROLLED} from ${printable(req.hostname)}${warning ? ` (by ${id.uuid ? 'uuid' : 'serial number'}; ${warning})` : ''}`.slice(0, 1024);
  const agent: Caller = { subject: `agent/${hostId}`, grants: [{ project, role: 'manager' }] };
  try {
    await service.updateStatusWith(agent, project, 'Host', hostId, { registrationStatus: { indicator: 'idle', message, timestamp: new Date().toISOString() } }, { admit: assertAdmissible, tokens: [record] });
  } catch (e) {
    // Deleted since it was found (a force delete): as if it had never been registered.
    if (isEimError(e) && e.code === 'not_found') throw new EimError('not_found', `host ${hostId} was deleted while this machine enrolled; register it again (or enrol with an autoRegister token)`);
    throw e;
  }
  // The enrollment token may have been revoked through another server that this one has not heard
  // from yet: the agent token it got would outlive that revocation (one read of the token's record).
  await tokens.assertNotRevoked(caller, issued.id);
  return { hostId, project, token: issued.token, ...(issued.expiresAt ? { expiresAt: issued.expiresAt } : {}) };
}

function assertAdmissible(host: Resource): void {
  const desired = (host.spec as { desiredState?: string }).desiredState;
  if (desired === 'untrusted') throw new EimError('permission_denied', `host ${host.id} is untrusted (invalidated); delete it and register it again to re-admit this machine`);
  if (desired === 'deleted') throw new EimError('not_found', `host ${host.id} is being deleted; register the machine again after it is gone`);
}

/** The id of the one host this identity names, or undefined; `conflict` when uuid and serial number name two. */
async function findHost(service: InventoryService, project: string, id: UsableIdentity): Promise<string | undefined> {
  const matches = await service.store.hostsByIdentity(project, { uuid: id.uuid, serialNumber: id.serialNumber }, 3);
  if (matches.length > 1) {
    const names = matches.map((h) => `host ${h.id} ("${h.name}") by ${id.uuid !== undefined && h.uuid === id.uuid ? `uuid ${id.uuid}` : `serial number ${id.serialNumber}`}`);
    throw new EimError('conflict', `this machine's identity matches ${matches.length} hosts in project "${project}" (${names.join('; ')}); one machine is one host: fix or delete the wrong registration, then enrol again`, {
      details: { hostIds: matches.map((h) => h.id) },
    });
  }
  return matches[0]?.id;
}

/** Registers the machine as a new onboarded host named after its hostname; a racing twin's host wins. */
async function autoRegister(service: InventoryService, inv: Inventory, project: string, req: EnrollRequest, id: UsableIdentity): Promise<string> {
  const base = req.hostname.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '').slice(0, 100) || 'host';
  const spec = { desiredState: 'onboarded', ...(id.uuid ? { uuid: id.uuid } : {}), ...(id.serialNumber ? { serialNumber: id.serialNumber } : {}) };
  for (let i = 0; i < 5; i++) {
    const name = i === 0 ? base : `${base}-${Math.random().toString(16).slice(2, 6)}`;
    try {
      return (await inv.create(project, 'Host', { name, labels: { 'eim.auto-registered': 'true' }, spec })).id;
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict')) throw e;
      if (e.details?.field === 'spec.uuid' || e.details?.field === 'spec.serialNumber') {
        // Another enrolment of this machine registered it first: enrol into that host.
        const host = await findHost(service, project, id);
        if (host) return host;
      }
    }
  }
  throw new EimError('conflict', `could not find a free host name for "${base}"`);
}
