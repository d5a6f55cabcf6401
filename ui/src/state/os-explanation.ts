import type { Resource } from '../api/resource.ts';

export interface OsExplanation {
  /** Desired and current differ in a way the operator should look at (highlight the row). */
  differs: boolean;
  /** Why they differ, in words; absent when they agree. */
  note?: string;
}

/** A resource's name by kind and id (its id when the console does not hold it). */
export type NameOf = (kind: string, id: string | undefined) => string;

/**
 * Why an instance's current OS is not its `spec.osId`. An OS update moves `currentOsId` on and
 * leaves `spec.osId` (what was installed, `provisionedOsId`) alone, so that is no drift: it says
 * which policy updated it, from the run that did (else the attached policy). A `spec.osId` the
 * instance manager has not installed yet is drift: a reinstall is pending.
 * @example explainOs(inst, runs, nameOf) // { differs: false, note: 'updated by policy to-24-04 (from ubuntu-22-04)' }
 */
export function explainOs(inst: Pick<Resource, 'spec' | 'status'>, runs: readonly Resource[], nameOf: NameOf): OsExplanation {
  const desired = inst.spec.osId as string | undefined;
  const s = inst.status ?? {};
  const current = s.currentOsId as string | undefined;
  const provisioned = s.provisionedOsId as string | undefined;
  if (current === desired) return { differs: false };
  if (!current) return { differs: true, note: `${nameOf('OperatingSystem', desired)} is not installed yet` };
  if (provisioned === desired) {
    const run = runs
      .filter((r) => r.status?.instanceId !== undefined && r.status.targetOsId === current && r.status.phase === 'done')
      .sort((a, b) => String(b.status.endedAt ?? b.updatedAt).localeCompare(String(a.status.endedAt ?? a.updatedAt)))[0];
    const policyId = (run?.status.policyId ?? inst.spec.osUpdatePolicyId) as string | undefined;
    const from = run?.status.fromOsId ?? provisioned;
    const by = policyId ? `by policy ${nameOf('OsUpdatePolicy', policyId)}` : 'by an OS update';
    return { differs: false, note: `updated ${by} (from ${nameOf('OperatingSystem', from)}); spec.osId stays what was installed` };
  }
  return { differs: true, note: `reinstall pending: the spec asks for ${nameOf('OperatingSystem', desired)}` };
}
