import { EimError, type Resource, usableIdentity } from '../api/index.ts';
import type { HostIdentityField, WriteTx } from '../store/index.ts';

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
 * so concurrent writers cannot both pass): every write to a Host goes through them,
 * whoever the caller.
 *
 * - Host: `spec.uuid` and `spec.serialNumber` are unique in the project (vendor placeholders are no
 *   identity and exempt); a clash is `conflict` naming the other host.
 */
export async function assertKindRules(tx: WriteTx, next: Resource, before?: Resource): Promise<void> {
  if (next.kind === 'Host') await assertUniqueIdentity(tx, next, before);
}

async function assertUniqueIdentity(tx: WriteTx, host: Resource, before?: Resource): Promise<void> {
  const id = usableIdentity(host.spec as { uuid?: string; serialNumber?: string });
  const old = before ? usableIdentity(before.spec as { uuid?: string; serialNumber?: string }) : undefined;
  for (const field of ['uuid', 'serialNumber'] as const satisfies readonly HostIdentityField[]) {
    const value = id[field];
    if (value === undefined || value === old?.[field]) continue;
    const other = (await tx.hostsByIdentity(host.project, field, value, 2)).find((h) => h.id !== host.id);
    if (other) {
      const what = field === 'uuid' ? `uuid ${value}` : `serial number "${value}"`;
      throw new EimError('conflict', `host ${other.id} ("${other.name}") in project "${host.project}" already has ${what}: one machine, one host; fix the identity or delete that host first`, {
        details: { existingId: other.id, field: `spec.${field}` },
      });
    }
  }
}
