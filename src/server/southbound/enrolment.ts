import {
  AGENT_ENROLLED, ALL_PROJECTS, type Caller, EimError, EnrollRequest, type EnrollResponse, type Inventory, isEimError, placeholderWarning, type Resource,
  type UsableIdentity, usableIdentity,
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
 * Retries are safe: each enrolment mints a new agent token and leaves the host's earlier ones valid
 * (until they expire), and two autoRegister enrolments of one machine racing each other end on one
 * host (the identity is unique per project; the loser finds the winner's host).
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
  let host = await findHost(service, project, id);
  if (host) {
    assertAdmissible(host);
  } else if (caller.autoRegister) {
    host = await autoRegister(service, system, project, req, id);
  } else {
    const what = [id.uuid && `uuid ${id.uuid}`, id.serialNumber && `serial number ${id.serialNumber}`].filter(Boolean).join(' or ');
    throw new EimError('not_found', `no host in project "${project}" is registered with ${what}; register it first (eim create host NAME --set spec.uuid=…) or use an enrollment token made with autoRegister`);
  }
  const issued = await tokens.issue({ subject: `agent/${host.id}`, grants: [{ project, role: 'agent' }], hostId: host.id, ttlSeconds: deps.agentTokenTtlSeconds });
  const warning = placeholderWarning(id.ignored);
  const message = `${AGENT_ENROLLED} from ${req.hostname}${warning ? ` (by ${id.uuid ? 'uuid' : 'serial number'}; ${warning})` : ''}`.slice(0, 1024);
  let after: Resource;
  try {
    after = await service.as({ subject: `agent/${host.id}`, grants: [{ project, role: 'manager' }] }).updateStatus(project, 'Host', host.id, {
      registrationStatus: { indicator: 'idle', message, timestamp: new Date().toISOString() },
    });
    // Invalidated or deleted since it was found: the revocation by host may have run before the
    // token existed, so this token goes here.
    assertAdmissible(after);
  } catch (e) {
    await tokens.revoke({ id: issued.id });
    throw e;
  }
  return { hostId: host.id, project, token: issued.token, ...(issued.expiresAt ? { expiresAt: issued.expiresAt } : {}) };
}

function assertAdmissible(host: Resource): void {
  const desired = (host.spec as { desiredState?: string }).desiredState;
  if (desired === 'untrusted') throw new EimError('permission_denied', `host ${host.id} is untrusted (invalidated); delete it and register it again to re-admit this machine`);
  if (desired === 'deleted') throw new EimError('not_found', `host ${host.id} is being deleted; register the machine again after it is gone`);
}

/** The one host this identity names, or undefined; `conflict` when uuid and serial number name two. */
async function findHost(service: InventoryService, project: string, id: UsableIdentity): Promise<Resource | undefined> {
  const matches = await service.store.hostsByIdentity(project, { uuid: id.uuid, serialNumber: id.serialNumber }, 3);
  if (matches.length > 1) {
    const names = matches.map((h) => `host ${h.id} ("${h.name}") by ${id.uuid !== undefined && h.uuid === id.uuid ? `uuid ${id.uuid}` : `serial number ${id.serialNumber}`}`);
    throw new EimError('conflict', `this machine's identity matches ${matches.length} hosts in project "${project}" (${names.join('; ')}); one machine is one host: fix or delete the wrong registration, then enrol again`, {
      details: { hostIds: matches.map((h) => h.id) },
    });
  }
  if (matches.length === 0) return undefined;
  const host = await service.store.get(matches[0].id);
  return host && host.project === project ? host : undefined; // deleted in between: as if never found
}

/** Registers the machine as a new onboarded host named after its hostname; a racing twin's host wins. */
async function autoRegister(service: InventoryService, inv: Inventory, project: string, req: EnrollRequest, id: UsableIdentity): Promise<Resource> {
  const base = req.hostname.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '').slice(0, 100) || 'host';
  const spec = { desiredState: 'onboarded', ...(id.uuid ? { uuid: id.uuid } : {}), ...(id.serialNumber ? { serialNumber: id.serialNumber } : {}) };
  for (let i = 0; i < 5; i++) {
    const name = i === 0 ? base : `${base}-${Math.random().toString(16).slice(2, 6)}`;
    try {
      return await inv.create(project, 'Host', { name, labels: { 'eim.auto-registered': 'true' }, spec });
    } catch (e) {
      if (!(isEimError(e) && e.code === 'conflict')) throw e;
      if (e.details?.field === 'spec.uuid' || e.details?.field === 'spec.serialNumber') {
        // Another enrolment of this machine registered it first: enrol into that host.
        const host = await findHost(service, project, id);
        if (host) {
          assertAdmissible(host);
          return host;
        }
      }
    }
  }
  throw new EimError('conflict', `could not find a free host name for "${base}"`);
}
