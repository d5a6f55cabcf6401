import type { FilterNode } from '../api/filter.ts';
import { EimError, NODE_CONFIG_TARGET_KEYS, type Resource } from '../api/index.ts';
import type { Store } from '../store/index.ts';
import { storePages } from './store-pages.ts';

const targetIdOf = (spec: Record<string, unknown>): string | undefined => {
  const t = spec.target as Record<string, string | undefined> | undefined;
  return t ? NODE_CONFIG_TARGET_KEYS.map((k) => t[k]).find((v) => v !== undefined) : undefined;
};

/**
 * Two LocalAccounts of a project with one username and one target would give every host under it
 * the same account twice: `conflict`, naming both. (A more specific target with the same username
 * is an override, not a duplicate.) Checked before the write; what two concurrent writers or
 * several instances of one host still produce, the node-config manager reports on the host.
 * The accounts of that username are read page by page (`maxBytes` each).
 * @example await assertAccountUnique(store, 'default', { username: 'ops', target: { siteId } }, undefined, 'ops-paris', 4 << 20)
 */
export async function assertAccountUnique(store: Store, project: string, spec: Record<string, unknown>, selfId: string | undefined, name: string, maxBytes: number): Promise<void> {
  const target = targetIdOf(spec);
  if (target === undefined || typeof spec.username !== 'string') return;
  let other: Resource | undefined;
  const filter: FilterNode = { op: 'cmp', field: ['spec', 'username'], cmp: '=', value: { type: 'string', value: spec.username, quoted: true } };
  for await (const items of storePages(store, { project, kind: 'LocalAccount', filter, limit: 200, maxBytes })) {
    other = items.find((a: Resource) => a.id !== selfId && targetIdOf(a.spec) === target);
    if (other) break;
  }
  if (!other) return;
  throw new EimError(
    'conflict',
    `spec.username: local account ${other.id} ("${other.name}") already gives username "${spec.username}" to ${target}; local account "${name}" would be a second one for the same hosts. Change that one, or target this one elsewhere`,
    { details: { field: 'spec.username', existingId: other.id } },
  );
}
