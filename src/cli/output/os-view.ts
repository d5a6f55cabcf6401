import { printable, type Resource } from '../../api/index.ts';
import { age } from './age.ts';
import type { DescribeSection } from './describe-view.ts';

/**
 * The "Operating system" section of `eim describe instance`: what runs, what spec.osId asks, and
 * why they differ. An OS update moves `status.currentOsId` on and leaves `spec.osId` (what the
 * instance manager installs), so after an update the two differ without any drift: the section
 * names the update run and policy that did it ("updated by policy to-24-04"). Undefined before
 * anything was installed.
 * @example instanceOsSection(inst, runs, names.nameOf)
 */
export function instanceOsSection(inst: Resource, runs: readonly Resource[], nameOf: (id: string) => string | undefined = () => undefined, now: number = Date.now()): DescribeSection | undefined {
  const desired = inst.spec.osId as string | undefined;
  const current = inst.status.currentOsId as string | undefined;
  const installed = (inst.status.provisionedOsId as string | undefined) ?? current;
  if (!current) return undefined;
  const os = (id: string | undefined) => (id ? printable(nameOf(id) ?? id) : '-');
  const row = (k: string, id: string | undefined) => `${k.padEnd(29)}${os(id)}${id && nameOf(id) ? ` (${id})` : ''}`;
  const lines = [row('desired (spec.osId):', desired), row('installed (provisionedOsId):', installed), row('current (currentOsId):', current)];
  if (current === desired) return { title: 'Operating system', summary: `runs ${os(current)}, as desired`, lines };
  const update = runs
    .filter((r) => r.status.instanceId === inst.id && r.status.phase === 'done' && r.status.targetOsId === current && r.status.endedAt)
    .sort((a, b) => String(a.status.endedAt).localeCompare(String(b.status.endedAt)))
    .at(-1);
  if (installed === desired) {
    const by = update
      ? `updated by policy ${os(update.status.policyId as string)} ${age(update.status.endedAt as string, now)} ago (${printable(update.name)})`
      : 'updated by an OS update (its run is no longer kept)';
    lines.push(`${by}: an update moves currentOsId and leaves spec.osId, which says what was installed first; this is not drift and nothing is reinstalled (setting spec.osId yourself does reinstall)`);
    return { title: 'Operating system', summary: `runs ${os(current)}, ${update ? `updated by policy ${os(update.status.policyId as string)}` : 'updated'} (spec.osId ${os(desired)} is what was installed first)`, lines };
  }
  lines.push(`spec.osId changed to ${os(desired)}: the instance manager installs it (see provisioningStatus)`);
  return { title: 'Operating system', summary: `runs ${os(current)}; ${os(desired)} is to be installed`, lines };
}
