import { EimError, kindById, type Resource, usableIdentity } from '../api/index.ts';
import type { WriteTx } from '../store/index.ts';

/**
 * A user's spec as it is stored: a Host's uuid in lower case (uuids compare case-insensitively).
 * @example normalizeSpec('Host', { uuid: 'AB…' }) // { uuid: 'ab…' }
 */
export function normalizeSpec(kind: string, spec: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'Host' && typeof spec.uuid === 'string' && spec.uuid !== spec.uuid.toLowerCase()) return { ...spec, uuid: spec.uuid.toLowerCase() };
  return spec;
}

/**
 * Rules of single kinds that need the store, checked inside the write transaction (before any write,
 * so concurrent writers cannot both pass): every write to a Host or a Command goes through them,
 * whoever the caller.
 *
 * - Host: `spec.uuid` and `spec.serialNumber` are unique in the project (vendor placeholders are no
 *   identity and exempt); a clash is `conflict` naming the other host.
 * - Command: `spec.ownerId` is a resource of the command's own project that belongs to `spec.hostId`:
 *   the host itself, an instance on it, or an OS update run of such an instance. So a manager token
 *   of one project can never make a command that another project's managers would take as their own.
 */
export async function assertKindRules(tx: WriteTx, next: Resource, before?: Resource): Promise<void> {
  if (next.kind === 'Host') await assertUniqueIdentity(tx, next, before);
  else if (next.kind === 'Command') await assertCommandOwner(tx, next, before);
}

async function assertUniqueIdentity(tx: WriteTx, host: Resource, before?: Resource): Promise<void> {
  const id = usableIdentity(host.spec as { uuid?: string; serialNumber?: string });
  const old = before ? usableIdentity(before.spec as { uuid?: string; serialNumber?: string }) : undefined;
  // Only what changed is checked: a host registered twice before uniqueness existed stays editable.
  const look = { ...(id.uuid !== undefined && id.uuid !== old?.uuid ? { uuid: id.uuid } : {}), ...(id.serialNumber !== undefined && id.serialNumber !== old?.serialNumber ? { serialNumber: id.serialNumber } : {}) };
  if (look.uuid === undefined && look.serialNumber === undefined) return;
  const other = (await tx.hostsByIdentity(host.project, look, 3)).find((h) => h.id !== host.id);
  if (!other) return;
  const field = look.uuid !== undefined && other.uuid === look.uuid ? 'uuid' : 'serialNumber';
  const what = field === 'uuid' ? `uuid ${look.uuid}` : `serial number "${look.serialNumber}"`;
  throw new EimError('conflict', `host ${other.id} ("${other.name}") in project "${host.project}" already has ${what}: one machine, one host; fix the identity or delete that host first`, {
    details: { existingId: other.id, field: `spec.${field}` },
  });
}

async function assertCommandOwner(tx: WriteTx, cmd: Resource, before?: Resource): Promise<void> {
  const spec = cmd.spec as { hostId?: string; ownerId?: string };
  const prev = before?.spec as { hostId?: string; ownerId?: string } | undefined;
  if (spec.ownerId === undefined || (prev && prev.ownerId === spec.ownerId && prev.hostId === spec.hostId)) return;
  const owner = await tx.get(spec.ownerId);
  if (!owner || owner.project !== cmd.project) {
    throw new EimError('failed_precondition', `spec.ownerId: ${spec.ownerId} does not exist in project "${cmd.project}"; a command serves a resource of its own project`);
  }
  const host = await hostOf(tx, owner);
  if (host === undefined) {
    throw new EimError('invalid_argument', `spec.ownerId: a command serves its host, an instance on it or an OS update run of one; ${owner.kind} ${owner.id} is none of these`);
  }
  if (host !== spec.hostId) {
    throw new EimError('invalid_argument', `spec.ownerId: ${owner.kind} ${owner.id} belongs to host ${host}, not to spec.hostId ${spec.hostId}; a command serves a resource of the host it runs on`);
  }
}

/** The host a command owner belongs to (undefined: not a kind that owns commands, or dangling). */
async function hostOf(tx: WriteTx, owner: Resource): Promise<string | undefined> {
  switch (kindById(owner.id)?.kind) {
    case 'Host':
      return owner.id;
    case 'Instance':
      return (owner.spec as { hostId?: string }).hostId;
    case 'OsUpdateRun': {
      const instId = (owner.status as { instanceId?: string }).instanceId;
      const inst = instId ? await tx.get(instId) : undefined;
      return inst && inst.project === owner.project && inst.kind === 'Instance' ? (inst.spec as { hostId?: string }).hostId : undefined;
    }
    default:
      return undefined;
  }
}
