import { createHash } from 'node:crypto';
import type { ResourceOf } from './kind-types.ts';
import type { Resource } from './resource.ts';
import { compareProfileVersions } from './os-update-version.ts';

export type OperatingSystem = ResourceOf<'OperatingSystem'> & Resource;
export type OsUpdatePolicy = ResourceOf<'OsUpdatePolicy'> & Resource;

/** What one instance's update under a policy would do. */
export interface UpdatePlan {
  /** Content hash of what the instance updates to (target profile, packages, kernel command). */
  key: string;
  /** The profile the instance runs afterwards: the target, or (latest, nothing newer) the one it runs. */
  targetOsId: string;
  /** The new profile's image, when the target differs from the profile the instance runs. */
  image?: OperatingSystem;
  packages?: string[];
  kernelCommand?: string;
  /** Nothing to do: the instance runs the target and there are no packages or kernel command. */
  noop: boolean;
}

/** Finds OS profiles by id and the newest one of a profile name. */
export interface OsCatalog {
  get(id: string): OperatingSystem | undefined;
  list(): OperatingSystem[];
}

/**
 * The update a policy asks of an instance now running `currentOsId`, or a reason it cannot be
 * planned. `target`: spec.targetOsId. `latest`: the newest OperatingSystem with the same
 * profileName (and project) as the current one, newest by profileVersion (compareProfileVersions),
 * ties broken by the later createdAt; the current profile itself when none is newer.
 * @example planUpdate(policy, 'os-0a1b2c3d', catalog) // { key: '5f…', targetOsId: 'os-…', image: os, noop: false }
 */
export function planUpdate(policy: OsUpdatePolicy, currentOsId: string | undefined, catalog: OsCatalog): UpdatePlan | { error: string } {
  const s = policy.spec;
  let targetOsId: string;
  if (s.policy === 'target') {
    if (!s.targetOsId) return { error: 'spec.targetOsId is required when spec.policy is "target"' };
    if (!catalog.get(s.targetOsId)) return { error: `the target OS profile ${s.targetOsId} does not exist` };
    targetOsId = s.targetOsId;
  } else {
    const current = currentOsId ? catalog.get(currentOsId) : undefined;
    if (!current) return { error: currentOsId ? `its OS profile ${currentOsId} does not exist, so "latest" has no profile name to follow` : 'it runs no OS profile yet' };
    targetOsId = newestOf(current, catalog).id;
  }
  const packages = s.packages?.length ? [...s.packages] : undefined;
  const kernelCommand = s.kernelCommand || undefined;
  return {
    key: updateKey(targetOsId, packages, kernelCommand),
    targetOsId,
    ...(targetOsId !== currentOsId ? { image: catalog.get(targetOsId) } : {}),
    ...(packages ? { packages } : {}),
    ...(kernelCommand ? { kernelCommand } : {}),
    noop: targetOsId === currentOsId && !packages && !kernelCommand,
  };
}

/**
 * The key of a whole rollout, shown in the policy's status: for `target` the instances' key; for
 * `latest` a hash over the newest profile of every profile name, so a new profile version starts
 * a new rollout. maxConcurrent and maxFailures are not part of it.
 */
export function rolloutKey(policy: OsUpdatePolicy, catalog: OsCatalog): string {
  const s = policy.spec;
  const packages = s.packages?.length ? s.packages : undefined;
  const kernel = s.kernelCommand || undefined;
  if (s.policy === 'target') return updateKey(s.targetOsId ?? '', packages, kernel);
  const newest = new Map<string, OperatingSystem>();
  for (const os of catalog.list()) {
    if (os.project !== policy.project) continue;
    const k = os.spec.profileName;
    const cur = newest.get(k);
    if (!cur || newer(os, cur)) newest.set(k, os);
  }
  return updateKey(`latest:${[...newest.values()].map((o) => o.id).sort().join(',')}`, packages, kernel);
}

/** @example updateKey('os-0a1b2c3d', ['openssl'], undefined) // 16 hex digits */
export function updateKey(targetOsId: string, packages: readonly string[] | undefined, kernelCommand: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([targetOsId, packages ?? [], kernelCommand ?? '']))
    .digest('hex')
    .slice(0, 16);
}

function newestOf(current: OperatingSystem, catalog: OsCatalog): OperatingSystem {
  let best = current;
  for (const os of catalog.list()) {
    if (os.project === current.project && os.spec.profileName === current.spec.profileName && newer(os, best)) best = os;
  }
  return best;
}

function newer(a: OperatingSystem, b: OperatingSystem): boolean {
  const d = compareProfileVersions(a.spec.profileVersion, b.spec.profileVersion);
  return d > 0 || (d === 0 && a.createdAt > b.createdAt);
}
