import type { Resource, ResourceOf } from '../api/index.ts';
import { type OsCatalog, planUpdate, runOutcome } from '../api/index.ts';

type OsUpdatePolicy = ResourceOf<'OsUpdatePolicy'> & Resource;
type OsUpdateRun = ResourceOf<'OsUpdateRun'> & Resource;
type OperatingSystem = ResourceOf<'OperatingSystem'> & Resource;

/** Where each selected instance stands with a policy's rollout, for `eim update abort`. */
export interface AbortPlan {
  /** Attached, and its update for what the policy asks now has not started: abort detaches these. */
  notStarted: Resource[];
  /** An update is running: it finishes (or rolls back); an update in flight is never cut off. */
  running: Resource[];
  /** Already at what the policy asks (updated, or nothing to do). */
  updated: Resource[];
  /** Its update for what the policy asks failed (and rolled back): not retried for that update. */
  failed: { instance: Resource; run: Resource }[];
  /** Not attached to the policy. */
  notAttached: Resource[];
}

/**
 * Sorts instances by what abort may do with them, the way the rollout sees them: a run in flight
 * is running; a run that succeeded for the instance's current update (or nothing to update) is
 * updated; one that failed for it is failed; anything else attached has not started.
 * @example const plan = abortPlan(policy, instances, runs, operatingSystems); detach(plan.notStarted)
 */
export function abortPlan(policy: OsUpdatePolicy, instances: readonly Resource[], runs: readonly OsUpdateRun[], operatingSystems: readonly OperatingSystem[]): AbortPlan {
  const byId = new Map(operatingSystems.map((o) => [o.id, o]));
  const catalog: OsCatalog = { get: (id) => byId.get(id), list: () => [...byId.values()] };
  const runsOf = new Map<string, OsUpdateRun[]>();
  for (const r of runs) {
    const id = r.status.instanceId;
    if (r.status.policyId !== policy.id || !id) continue;
    const list = runsOf.get(id) ?? [];
    list.push(r);
    runsOf.set(id, list);
  }
  const plan: AbortPlan = { notStarted: [], running: [], updated: [], failed: [], notAttached: [] };
  for (const inst of instances) {
    if (inst.spec.osUpdatePolicyId !== policy.id) {
      plan.notAttached.push(inst);
      continue;
    }
    const mine = runsOf.get(inst.id) ?? [];
    if (mine.some((r) => runOutcome(r) === 'running')) {
      plan.running.push(inst);
      continue;
    }
    const update = planUpdate(policy, inst.status.currentOsId as string | undefined, catalog);
    const current = 'key' in update ? mine.filter((r) => r.status.updateKey === update.key) : [];
    const failed = current.findLast((r) => runOutcome(r) === 'failed');
    if ('key' in update && (update.noop || current.some((r) => runOutcome(r) === 'succeeded'))) plan.updated.push(inst);
    else if (failed) plan.failed.push({ instance: inst, run: failed });
    else plan.notStarted.push(inst);
  }
  return plan;
}
