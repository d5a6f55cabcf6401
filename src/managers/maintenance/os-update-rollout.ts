import { kindById } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, requeueAfter, type Result, systemClock, terminal } from '../../reconcile/index.ts';
import { instanceOwner } from '../shared/command-tracker.ts';
import { hostNotReady } from '../shared/host-readiness.ts';
import { SelectorMembership } from '../shared/selector-membership.ts';
import { controllerBase, type Instance, type ManagerDeps, type ManagerTuning } from '../shared/manager-deps.ts';
import { type OperatingSystem, type OsCatalog, type OsUpdatePolicy, planUpdate, rolloutKey, type UpdatePlan } from './os-update-plan.ts';
import { type OsUpdateRun, RunCache, runOutcome } from './os-update-run-cache.ts';
import { RunFollower } from './os-update-run-follower.ts';
import type { WindowView } from './window-view.ts';

export interface OsUpdateRolloutOptions extends ManagerDeps, ManagerTuning {
  policies: Informer<'OsUpdatePolicy', OsUpdatePolicy>;
  runs: Informer<'OsUpdateRun', OsUpdateRun>;
  operatingSystems: Informer<'OperatingSystem', OperatingSystem>;
  windows: WindowView;
  /** Wait before an update's 2nd attempt after a recoverable failure, doubled for each later one. @default 5000 */
  retryDelayMs?: number;
}

/** The window purposes an OS update may start in. */
export const UPDATE_PURPOSES = ['os-update', 'maintenance'] as const;

type Rollout = NonNullable<OsUpdatePolicy['status']['rollout']>;

/**
 * Rolls OS update policies out to the instances attached to them (spec.osUpdatePolicyId), and to
 * those without a policy of their own on the hosts a policy's spec.target.selector matches.
 *
 * One reconcile per policy (the controller's key is the policy id, never two at once) decides every
 * start of that policy, from the runs it knows including those it just created, so the number of
 * updates running never exceeds rollout.maxConcurrent, whatever the number of workers.
 *
 * An instance is up to date when a run for (instance, policy, updateKey) succeeded, or when it runs
 * the target already and there is nothing else to apply. Otherwise an update starts only when the
 * instance is running, its host is ready (enrolled, onboarded, connected) and inside an open
 * os-update or maintenance window, and a slot is free. Failed runs for the current update keys
 * halt the rollout once they reach maxFailures (0 counts as 1: the first failure halts); running
 * updates finish, nothing new starts until the policy changes what it updates to or allows more
 * failures. A failed instance is not retried for the same updateKey.
 *
 * Wakes on: policies, attached instances (attach, detach, state, OS), their hosts' readiness,
 * runs and their commands' answers, OS profiles (for `latest`), and the window view.
 * @example const r = new OsUpdateRollout({ ...deps, policies, runs, operatingSystems, windows }); r.start(); … await r.stop()
 */
export class OsUpdateRollout {
  readonly controller: Controller<'OsUpdatePolicy', OsUpdatePolicy>;
  private readonly runs: RunCache;
  private readonly follower: RunFollower;
  private readonly catalog: OsCatalog;
  private readonly clock: Clock;
  private readonly instancesByPolicy = new Map<string, Set<string>>();
  /** The hosts each policy's target.selector matches: their instances without a policy of their own follow it. */
  private readonly selectors: SelectorMembership;
  private readonly unlisten: () => void;

  constructor(private readonly o: OsUpdateRolloutOptions) {
    this.clock = o.clock ?? systemClock;
    this.runs = new RunCache(o.runs);
    this.catalog = { get: (id) => o.operatingSystems.get(id), list: () => o.operatingSystems.list() };
    this.follower = new RunFollower({ inventory: o.inventory, commands: o.commands, runs: this.runs, instances: o.instances, catalog: this.catalog, clock: this.clock, retryDelayMs: o.retryDelayMs });
    this.controller = new Controller({
      name: 'os-update-rollout',
      ...controllerBase(o, this.clock),
      kind: 'OsUpdatePolicy',
      informer: o.policies,
      statusField: 'rolloutStatus',
      waitFor: Promise.all([o.policies.synced, o.runs.synced, o.operatingSystems.synced, o.instances.synced, o.hosts.synced, o.commands.informer.synced, o.windows.synced]),
      reconcile: (ctx) => this.reconcile(ctx),
    });
    const wake = (policyId: string | undefined) => policyId && this.controller.queue.add(policyId);
    this.selectors = new SelectorMembership(o.hosts);
    const select = (p: OsUpdatePolicy) => this.selectors.set(p.id, p.project, p.spec.target?.selector);
    o.policies.on({ add: select, update: (_old, p) => select(p), delete: (p) => this.selectors.set(p.id, p.project, undefined) });
    for (const p of o.policies.list()) select(p);
    this.selectors.onChange(({ ownerId }) => wake(ownerId));
    // An instance without a policy of its own follows the policies selecting its host.
    const wakeSelecting = (i: Instance) => {
      if (!i.spec.osUpdatePolicyId) for (const p of this.selectors.ownersOf(i.spec.hostId)) wake(p);
    };
    const wakeHost = (hostId: string) => {
      for (const i of o.instancesByHost.get(hostId)) wake(i.spec.osUpdatePolicyId);
      for (const p of this.selectors.ownersOf(hostId)) wake(p);
    };
    const wakeAll = () => {
      for (const p of o.policies.list()) wake(p.id);
    };
    o.instances.on({
      add: (i) => (this.index(i), wake(i.spec.osUpdatePolicyId), wakeSelecting(i)),
      update: (old, i) => {
        this.index(i, old);
        if (relevant(old) !== relevant(i)) {
          wake(old.spec.osUpdatePolicyId);
          wake(i.spec.osUpdatePolicyId);
          wakeSelecting(old);
          wakeSelecting(i);
        }
      },
      delete: (i) => (this.unindex(i), wake(i.spec.osUpdatePolicyId), wakeSelecting(i)),
    });
    for (const i of o.instances.list()) this.index(i);
    o.hosts.on({ update: (old, h) => hostNotReady(old) !== hostNotReady(h) && wakeHost(h.id) });
    o.runs.on({ add: (r) => wake(r.status.policyId), update: (_o, r) => wake(r.status.policyId), delete: (r) => wake(r.status.policyId) });
    o.commands.onOwnerChange((ownerId) => {
      if (kindById(ownerId)?.kind === 'OsUpdateRun') wake(this.runs.get(ownerId)?.status.policyId);
    });
    o.operatingSystems.on({ add: wakeAll, update: wakeAll, delete: wakeAll });
    this.unlisten = o.windows.onChange((hosts) => {
      if (hosts === 'all') return wakeAll();
      for (const h of hosts) wakeHost(h);
    });
  }

  start(): this {
    this.controller.start();
    return this;
  }

  async stop(): Promise<void> {
    this.unlisten();
    await this.controller.stop();
  }

  stats(): ControllerStats {
    return this.controller.stats();
  }

  private async reconcile({ key, object: policy }: ReconcileContext<OsUpdatePolicy>): Promise<Result> {
    const plans = new Map<string, UpdatePlan | { error: string }>();
    const planOf = (inst: Instance | undefined) => {
      if (!inst || !policy) return undefined;
      let p = plans.get(inst.id);
      if (!p) plans.set(inst.id, (p = planUpdate(policy, inst.status.currentOsId, this.catalog)));
      return 'error' in p ? undefined : p;
    };
    // Runs in flight first: their answers free slots and count failures.
    const open = this.runs.ofPolicy(key).filter((r) => runOutcome(r) === 'running');
    const waits = await Promise.all(open.map((r) => this.follower.follow(r, planOf(this.o.instances.get(r.status.instanceId ?? '')))));
    // A retry waiting for its time: look again then (other events may bring the look sooner).
    const soonest = Math.min(...waits.filter((w): w is number => w !== undefined));
    const result = (): Result => (Number.isFinite(soonest) ? requeueAfter(soonest) : done());
    if (!policy) return done(); // its runs went with it (they are owned by the policy)
    if (policy.spec.policy === 'target' && !policy.spec.targetOsId) return terminal(new Error('spec.targetOsId is required when spec.policy is "target": set it, or use policy "latest"'));

    const rk = rolloutKey(policy, this.catalog);
    const attached = this.attached(key);
    attached.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const runs = this.runs.ofPolicy(key);
    const currentKeys = new Set<string>();
    if (policy.spec.policy === 'target') currentKeys.add(rk);
    const byInstance = new Map<string, OsUpdateRun[]>();
    for (const r of runs) {
      const id = r.status.instanceId ?? '';
      const list = byInstance.get(id) ?? [];
      list.push(r);
      byInstance.set(id, list);
    }
    let upToDate = 0;
    let blocked = 0;
    const candidates: [Instance, UpdatePlan][] = [];
    const unplannable: string[] = [];
    for (const inst of attached) {
      const plan = planOf(inst);
      if (!plan) {
        unplannable.push(`${inst.name}: ${(plans.get(inst.id) as { error: string }).error}`);
        continue;
      }
      currentKeys.add(plan.key);
      const mine = (byInstance.get(inst.id) ?? []).filter((r) => r.status.updateKey === plan.key);
      if (plan.noop || mine.some((r) => runOutcome(r) === 'succeeded')) upToDate++;
      else if (mine.some((r) => runOutcome(r) === 'running')) continue;
      else if (mine.some((r) => runOutcome(r) === 'failed')) blocked++;
      else candidates.push([inst, plan]);
    }
    const running = runs.filter((r) => runOutcome(r) === 'running').length;
    const current = runs.filter((r) => currentKeys.has(r.status.updateKey ?? ''));
    const failedRuns = current.filter((r) => runOutcome(r) === 'failed');
    const succeeded = current.filter((r) => runOutcome(r) === 'succeeded').length;
    const { maxConcurrent, maxFailures } = policy.spec.rollout;
    const halted = failedRuns.length >= Math.max(1, maxFailures);

    let started = 0;
    if (!halted) {
      const slots = maxConcurrent - running;
      const go = [];
      for (const [inst, plan] of candidates) {
        if (go.length >= slots) break;
        if (this.mayStart(inst)) go.push([inst, plan] as const);
      }
      // Independent instances: start them together (the slot count was decided above).
      for (let i = 0; i < go.length; i += 64) await Promise.all(go.slice(i, i + 64).map(([inst, plan]) => this.follower.start(policy, inst, plan)));
      started = go.length;
    }
    const prev = policy.status.rollout;
    const nowRunning = running + started;
    const rollout: Rollout = {
      updateKey: rk,
      total: attached.length,
      upToDate,
      pending: candidates.length - started,
      running: nowRunning,
      succeeded,
      failed: failedRuns.length,
      peakRunning: Math.max(nowRunning, prev?.updateKey === rk ? prev.peakRunning : 0),
      halted,
    };
    await this.writeStatus(policy, rollout, this.message(policy, rollout, failedRuns, unplannable, blocked), this.selectors.has(key) ? this.selectors.matched(key).size : undefined);
    return result();
  }

  /** A policy's instances: those naming it, and those without a policy of their own on the hosts its selector matches. */
  private attached(policyId: string): Instance[] {
    const out = new Map<string, Instance>();
    for (const id of this.instancesByPolicy.get(policyId) ?? []) {
      const i = this.o.instances.get(id);
      if (i) out.set(i.id, i);
    }
    for (const hostId of this.selectors.matched(policyId)) {
      for (const i of this.o.instancesByHost.get(hostId)) if (!i.spec.osUpdatePolicyId) out.set(i.id, i);
    }
    return [...out.values()];
  }

  /** The instance runs, its host is ready, and an os-update or maintenance window covers it now. */
  private mayStart(inst: Instance): boolean {
    if (inst.spec.desiredState !== 'running' || inst.status.currentState !== 'running') return false;
    if (this.o.commands.find(instanceOwner(inst), 'install-os')) return false;
    if (hostNotReady(this.o.hosts.get(inst.spec.hostId))) return false;
    return this.o.windows.isOpen(inst.spec.hostId, UPDATE_PURPOSES);
  }

  private message(policy: OsUpdatePolicy, r: Rollout, failedRuns: OsUpdateRun[], unplannable: string[], blocked: number): ['idle' | 'in_progress' | 'error', string] {
    const counts = `${r.upToDate}/${r.total} up to date, ${r.running} running, ${r.pending} pending, ${r.failed} failed`;
    if (r.halted) {
      const allowed = policy.spec.rollout.maxFailures;
      const last = failedRuns
        .slice(-3)
        .map((f) => `${this.o.instances.get(f.status.instanceId ?? '')?.name ?? f.status.instanceId}: ${f.status.runStatus?.message ?? 'failed'}`)
        .join('; ');
      return [
        'error',
        `halted: ${r.failed} failed update${r.failed === 1 ? '' : 's'} reached maxFailures ${allowed}${allowed === 0 ? ' (no failure tolerated)' : ''}; no new update starts until the policy changes what it updates to or allows more failures (${counts}). Last failures: ${last}`,
      ];
    }
    if (unplannable.length > 0) return ['error', `${unplannable.length} instance(s) cannot be planned (${counts}): ${unplannable.slice(0, 3).join('; ')}`];
    if (r.total > 0 && r.upToDate === r.total) return ['idle', `done: ${counts}`];
    if (r.running > 0) return ['in_progress', `rolling out: ${counts}`];
    if (r.pending > 0) return ['in_progress', `waiting for a window or a ready host: ${counts}`];
    return ['idle', r.total === 0 ? 'no instance attached' : `nothing more to start: ${counts}${blocked ? ` (${blocked} failed for good with this update)` : ''}`];
  }

  private async writeStatus(policy: OsUpdatePolicy, rollout: Rollout, [indicator, message]: ['idle' | 'in_progress' | 'error', string], matchedHosts: number | undefined): Promise<void> {
    const s = policy.status;
    const sameMatch = s.matchedHosts === matchedHosts;
    const same = sameMatch && JSON.stringify(s.rollout) === JSON.stringify(rollout) && s.rolloutStatus?.indicator === indicator && s.rolloutStatus.message === message;
    if (same) return;
    await this.o.inventory
      .updateStatus(policy.project, 'OsUpdatePolicy', policy.id, {
        rollout,
        ...(s.rolloutStatus?.indicator === indicator && s.rolloutStatus.message === message ? {} : { rolloutStatus: { indicator, message: message.slice(0, 1024), timestamp: new Date(this.clock.now()).toISOString() } }),
        // A selector's count; null removes it when the selector goes.
        ...(sameMatch ? {} : { matchedHosts: matchedHosts ?? null }),
      })
      .catch((e: unknown) => {
        if ((e as { code?: string }).code !== 'not_found') throw e;
      });
  }

  private index(i: Instance, old?: Instance): void {
    if (old && old.spec.osUpdatePolicyId !== i.spec.osUpdatePolicyId) this.unindex(old);
    const p = i.spec.osUpdatePolicyId;
    if (!p) return;
    let set = this.instancesByPolicy.get(p);
    if (!set) this.instancesByPolicy.set(p, (set = new Set()));
    set.add(i.id);
  }

  private unindex(i: Instance): void {
    const p = i.spec.osUpdatePolicyId;
    const set = p ? this.instancesByPolicy.get(p) : undefined;
    set?.delete(i.id);
    if (p && set?.size === 0) this.instancesByPolicy.delete(p);
  }
}

/** What of an instance the rollout's decisions read. */
const relevant = (i: Instance): string => JSON.stringify([i.spec.osUpdatePolicyId, i.spec.hostId, i.spec.desiredState, i.status.currentState, i.status.currentOsId]);
