import { isEimError, type Inventory } from '../../api/index.ts';
import type { Informer } from '../../client/index.ts';
import type { Clock } from '../../reconcile/index.ts';
import { installParams } from '../shared/install-params.ts';
import type { CommandOwner, CommandResource, CommandTracker } from '../shared/command-tracker.ts';
import type { Instance } from '../shared/manager-deps.ts';
import { StatusPatch } from '../shared/status-patch.ts';
import type { OsCatalog, OsUpdatePolicy, UpdatePlan } from './os-update-plan.ts';
import { type OsUpdateRun, type RunCache, runOutcome } from './os-update-run-cache.ts';

export interface RunFollowerDeps {
  inventory: Inventory;
  commands: CommandTracker;
  runs: RunCache;
  instances: Informer<'Instance', Instance>;
  catalog: OsCatalog;
  clock: Clock;
  /** Wait before the 2nd attempt after a recoverable failure; doubled for each later one. @default 5000 */
  retryDelayMs?: number;
}

/** Attempts of one update at most: recoverable failures (a download timed out) are tried again until then. */
export const MAX_ATTEMPTS = 3;

const PHASES = ['downloading', 'applying', 'rebooting', 'verifying', 'rolling back'] as const;

/**
 * Starts one instance's update and follows it to its outcome: an OsUpdateRun (the record), an
 * `update-os` Command owned by the run (the agent's work), and the instance's updateStatus.
 *
 * Crash ordering: the run is created first, then its command; a run without a command (a crash in
 * between) gets its command on the next look. An outcome is written to the run, then to the
 * instance, and only then is the command removed, so a crash anywhere leaves what is needed to
 * finish the record.
 * @example const f = new RunFollower(deps); await f.start(policy, instance, plan); … await f.follow(run, plan)
 */
export class RunFollower {
  constructor(private readonly d: RunFollowerDeps) {}

  /** Creates the run and its command for `inst`, and marks the instance updating. */
  async start(policy: OsUpdatePolicy, inst: Instance, plan: UpdatePlan): Promise<OsUpdateRun> {
    const now = new Date(this.d.clock.now()).toISOString();
    const status = {
      instanceId: inst.id,
      policyId: policy.id,
      updateKey: plan.key,
      ...(inst.status.currentOsId ? { fromOsId: inst.status.currentOsId } : {}),
      targetOsId: plan.targetOsId,
      runStatus: { indicator: 'in_progress', message: `waiting for the agent to start updating to ${this.label(plan.targetOsId, plan)}`, timestamp: now },
      startedAt: now,
      phase: 'pending',
      progress: 0,
    };
    const run = await this.create(inst, plan, status);
    this.d.runs.put(run);
    await this.d.commands.create({ project: inst.project, hostId: inst.spec.hostId, type: 'update-os', params: this.params(plan), ownerId: run.id });
    await new StatusPatch(inst, this.d.clock).triple('updateStatus', 'in_progress', `update to ${this.label(plan.targetOsId, plan)} started`).write(this.d.inventory);
    return run;
  }

  /**
   * Moves a running run on from its command's answers. `plan` is what the policy asks now, used
   * only to (re)create a command (lost to a crash, or the next attempt after a recoverable
   * failure); a run whose plan changed before its command existed is aborted instead. Answers how
   * soon the run wants another look (a retry waiting for its time), or undefined.
   */
  async follow(run: OsUpdateRun, plan: UpdatePlan | undefined): Promise<number | undefined> {
    const inst = this.d.instances.get(run.status.instanceId ?? '');
    const cmd = this.d.commands.find(runOwner(run, inst), 'update-os');
    if (!cmd) {
      if (!inst) return void (await this.finish(run, undefined, 'aborted', 'error', 'the instance was deleted before the update started'));
      if (!plan || plan.key !== run.status.updateKey) {
        return void (await this.finish(run, inst, 'aborted', 'error', 'the policy changed (or was detached) before the update reached the agent'));
      }
      const wait = (run.status.retryAt ? Date.parse(run.status.retryAt) : 0) - this.d.clock.now();
      if (wait > 0) return wait;
      await this.d.commands.create({ project: run.project, hostId: inst.spec.hostId, type: 'update-os', params: this.params(plan), ownerId: run.id });
      return undefined;
    }
    const s = cmd.status;
    const target = this.label(run.status.targetOsId, plan?.key === run.status.updateKey ? plan : undefined);
    if (s.state === 'succeeded') {
      await this.write(run, { runStatus: ['idle', `updated to ${target}`], phase: 'done', progress: 100, endedAt: this.now(), details: detailsOf(cmd) });
      if (inst) {
        const p = new StatusPatch(inst, this.d.clock).triple('updateStatus', 'idle', `updated to ${target}`);
        if (run.status.targetOsId && run.status.targetOsId !== inst.status.currentOsId) p.set('currentOsId', run.status.targetOsId);
        await p.write(this.d.inventory);
      }
      await this.d.commands.remove(cmd);
      return;
    }
    if (s.state === 'failed') {
      const d = s.details ?? {};
      const back = typeof d.rolledBackTo === 'string' && /^os-[0-9a-f]{8}$/.test(d.rolledBackTo) ? d.rolledBackTo : run.status.fromOsId;
      const rolledBack = d.rolledBack === true;
      const why = s.message || 'the agent gave no reason';
      const attempt = run.status.attempt ?? 1;
      if (s.recoverable && !rolledBack && attempt < MAX_ATTEMPTS) return this.retry(run, inst, cmd, target, why, attempt + 1);
      // The agent's message may name the rollback already (by id, or vaguely): say it once, by profile.
      const reason = rolledBack ? why.replace(/;? *rolled back to [^;]*$/, '') : why;
      const where = rolledBack ? `; rolled back to ${back ? this.label(back) : 'the previous system'}` : '';
      await this.write(run, {
        runStatus: ['error', `update to ${target} failed: ${reason}${where}`],
        phase: rolledBack ? 'rolled-back' : 'failed',
        endedAt: this.now(),
        details: detailsOf(cmd),
        ...(rolledBack && back ? { rolledBackToOsId: back } : {}),
      });
      if (inst) {
        await new StatusPatch(inst, this.d.clock).triple('updateStatus', 'error', `update failed: ${reason}${where}`).write(this.d.inventory);
      }
      await this.d.commands.remove(cmd);
      return;
    }
    const phase = phaseOf(s.message) ?? (s.state === 'running' ? (run.status.phase !== 'pending' ? run.status.phase : undefined) ?? 'downloading' : 'pending');
    const pct = s.progress ?? run.status.progress ?? 0;
    const what = phase === 'pending' ? `waiting for the agent to start updating to ${target}` : `${phase} ${target} (${pct} %)`;
    await this.write(run, { runStatus: ['in_progress', what], phase, progress: pct });
    if (inst && phase !== 'pending') await new StatusPatch(inst, this.d.clock).triple('updateStatus', 'in_progress', what).write(this.d.inventory);
  }

  /**
   * A recoverable failure (the agent says trying again may help, and nothing was applied): the run
   * keeps its slot, records the next attempt and when it goes out, and the command is removed; the
   * next look after retryAt sends a new one. A crash between the two writes costs one attempt.
   */
  private async retry(run: OsUpdateRun, inst: Instance | undefined, cmd: CommandResource, target: string, why: string, attempt: number): Promise<number> {
    const delay = (this.d.retryDelayMs ?? 5000) * 2 ** (attempt - 2);
    const what = `retrying (attempt ${attempt} of ${MAX_ATTEMPTS}) in ${Math.round(delay / 1000)} s: ${why}`;
    await this.write(run, { runStatus: ['in_progress', `update to ${target}: ${what}`], phase: 'retrying', attempt, retryAt: new Date(this.d.clock.now() + delay).toISOString() });
    if (inst) await new StatusPatch(inst, this.d.clock).triple('updateStatus', 'in_progress', `update to ${target}: ${what}`).write(this.d.inventory);
    await this.d.commands.remove(cmd);
    return delay;
  }

  /** Ends a run that never reached the agent (its command, if any, is removed). */
  async finish(run: OsUpdateRun, inst: Instance | undefined, phase: 'aborted', indicator: 'error', why: string): Promise<void> {
    await this.write(run, { runStatus: [indicator, `aborted: ${why}`], phase, endedAt: this.now() });
    if (inst && inst.status.updateStatus?.indicator === 'in_progress') {
      await new StatusPatch(inst, this.d.clock).triple('updateStatus', 'idle', `update aborted: ${why}`).write(this.d.inventory);
    }
    await this.d.commands.removeAll(runOwner(run, undefined));
  }

  /** "ubuntu 24.04", "ubuntu 24.04 + packages openssl", or the OS id when the profile is gone. */
  label(osId: string | undefined, plan?: Pick<UpdatePlan, 'packages' | 'kernelCommand'>): string {
    const os = osId ? this.d.catalog.get(osId) : undefined;
    const base = os ? `${os.spec.profileName} ${os.spec.profileVersion}` : (osId ?? 'the current OS');
    const extra = [plan?.packages?.length ? `packages ${plan.packages.join(' ')}` : '', plan?.kernelCommand ? `kernel command "${plan.kernelCommand}"` : ''].filter(Boolean);
    return extra.length ? `${base} + ${extra.join(', ')}` : base;
  }

  private params(plan: UpdatePlan): Record<string, unknown> {
    return {
      ...(plan.image ? installParams(plan.image) : {}),
      ...(plan.packages ? { packages: plan.packages } : {}),
      ...(plan.kernelCommand ? { kernelCommand: plan.kernelCommand } : {}),
    };
  }

  private async create(inst: Instance, plan: UpdatePlan, status: Record<string, unknown>): Promise<OsUpdateRun> {
    const names = [`${inst.name.slice(0, 110).replace(/[._-]+$/, '')}-${plan.key.slice(0, 8)}`, `${inst.id}-${plan.key}`];
    for (const name of names) {
      try {
        return (await this.d.inventory.create(inst.project, 'OsUpdateRun', { name, status })) as OsUpdateRun;
      } catch (e) {
        if (!(isEimError(e) && e.code === 'conflict')) throw e;
        // The name is taken: by this very run (a start repeated after a crash), or by another instance's.
        const page = await this.d.inventory.list(inst.project, 'OsUpdateRun', { filter: `name = "${name}"`, pageSize: 1 });
        const found = page.items[0] as OsUpdateRun | undefined;
        if (found && found.status.instanceId === inst.id && found.status.updateKey === plan.key && runOutcome(found) === 'running') return found;
      }
    }
    throw new Error(`cannot name the update run of instance ${inst.id}: ${names.join(' and ')} are taken`);
  }

  private async write(
    run: OsUpdateRun,
    f: { runStatus: ['idle' | 'in_progress' | 'error', string]; phase: string; progress?: number; endedAt?: string; details?: string; rolledBackToOsId?: string; attempt?: number; retryAt?: string },
  ): Promise<void> {
    const p = new StatusPatch(this.d.runs.get(run.id) ?? run, this.d.clock).triple('runStatus', f.runStatus[0], f.runStatus[1]).set('phase', f.phase);
    if (f.progress !== undefined) p.set('progress', f.progress);
    if (f.endedAt) p.set('endedAt', f.endedAt);
    if (f.details !== undefined) p.set('details', f.details);
    if (f.rolledBackToOsId) p.set('rolledBackToOsId', f.rolledBackToOsId);
    if (f.attempt !== undefined) p.set('attempt', f.attempt);
    if (f.retryAt) p.set('retryAt', f.retryAt);
    if (p.empty) return;
    try {
      this.d.runs.put((await this.d.inventory.updateStatus(run.project, 'OsUpdateRun', run.id, { ...p.patch })) as OsUpdateRun);
    } catch (e) {
      if (!(isEimError(e) && e.code === 'not_found')) throw e;
    }
  }

  private now(): string {
    return new Date(this.d.clock.now()).toISOString();
  }
}

/** The update phase a progress message names ("applying ubuntu 24.04", "verifying: running dpkg --audit"). */
export function phaseOf(message: string | undefined): string | undefined {
  const m = message?.toLowerCase();
  return m ? PHASES.find((p) => m.startsWith(p))?.replace(' ', '-') : undefined;
}

/** The agent's answer, for the run's details: its message and details, as JSON text. */
function detailsOf(cmd: CommandResource): string {
  const s = cmd.status;
  return JSON.stringify({ message: s.message, ...(s.details ? { details: s.details } : {}), agentStartedAt: s.startedAt, agentEndedAt: s.endedAt }).slice(0, 8192);
}

/** An OS update run as the owner of its commands: on its instance's host (any host of its project when the instance is gone). */
const runOwner = (run: OsUpdateRun, inst: Instance | undefined): CommandOwner => ({ project: run.project, id: run.id, hostId: inst?.spec.hostId });
