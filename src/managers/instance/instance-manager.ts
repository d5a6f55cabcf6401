import { isEimError, kindById } from '../../api/index.ts';
import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, requeueAfter, type Result, systemClock, terminal } from '../../reconcile/index.ts';
import { type CommandOwner, type CommandResource, instanceOwner } from '../shared/command-tracker.ts';
import { finishDelete } from '../shared/finish-delete.ts';
import { controllerBase, type Instance, type ManagerDeps, type ManagerTuning } from '../shared/manager-deps.ts';
import { RetryTimer } from '../shared/retry-timer.ts';
import { StatusPatch } from '../shared/status-patch.ts';
import { hostNotReady } from '../shared/host-readiness.ts';
import { installParams, profileLabel } from '../shared/install-params.ts';

export type InstanceManagerOptions = ManagerDeps & ManagerTuning;

/**
 * Reconciles Instances: installs the OS profile through `install-os` Commands, and handles the
 * untrusted and deleted flows.
 *
 * The controller owns `provisioningStatus`. The agent's answer decides what a failure is: a
 * Command `failed` with `recoverable: true` is tried again (a new Command) with per-instance backoff,
 * shown as "retrying (attempt N): …"; one with `recoverable: false` leaves indicator `error` and the
 * instance alone until its spec or labels change.
 *
 * Wakes on: its instances, their commands' answers (not its own writes), and changes of a host's
 * readiness (enrolled, onboarded, connected) for the instances on that host.
 * @example const m = new InstanceManager({ inventory, project: ALL_PROJECTS, hosts, instances, instancesByHost, commands }); m.start(); … await m.stop()
 */
export class InstanceManager {
  readonly controller: Controller<'Instance', Instance>;
  private readonly retries: RetryTimer;
  private readonly clock: Clock;

  constructor(private readonly o: InstanceManagerOptions) {
    this.clock = o.clock ?? systemClock;
    this.retries = new RetryTimer(this.clock, o.backoff);
    this.controller = new Controller({
      name: 'instance-manager',
      ...controllerBase(o, this.clock),
      kind: 'Instance',
      informer: o.instances,
      statusField: 'provisioningStatus',
      waitFor: Promise.all([o.hosts.synced, o.instances.synced, o.commands.informer.synced]),
      reconcile: (ctx) => this.sync(ctx),
    });
    o.commands.onOwnerChange((ownerId) => {
      if (kindById(ownerId)?.kind === 'Instance') this.controller.queue.add(ownerId);
    });
    const wake = (hostId: string) => {
      for (const id of o.instancesByHost.idsOf(hostId)) this.controller.queue.add(id);
    };
    o.hosts.on({
      add: (h) => wake(h.id),
      update: (old, h) => {
        if (hostNotReady(old) !== hostNotReady(h)) wake(h.id);
      },
    });
  }

  start(): this {
    this.controller.start();
    return this;
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  stats(): ControllerStats {
    return this.controller.stats();
  }

  private async sync({ key, object: inst }: ReconcileContext<Instance>): Promise<Result> {
    if (!inst) {
      // Gone (also by a forced delete): its commands have nobody left to serve.
      this.retries.forget(key);
      await this.o.commands.removeOrphaned(key);
      return done();
    }
    switch (inst.spec.desiredState) {
      case 'deleted':
        return this.remove(inst);
      case 'untrusted':
        return this.distrust(inst);
      default:
        return this.run(inst);
    }
  }

  /** Never waits for the node: an offline host's instance goes just the same. */
  private async remove(inst: Instance): Promise<Result> {
    await this.o.commands.removeAll(onAnyHost(inst));
    return finishDelete(this.o.inventory, inst, () => this.retries.forget(inst.id));
  }

  private async distrust(inst: Instance): Promise<Result> {
    await this.o.commands.removeAll(onAnyHost(inst));
    this.retries.forget(inst.id);
    await new StatusPatch(inst, this.clock)
      .set('currentState', 'untrusted')
      .triple('instanceStatus', 'error', 'untrusted')
      .set('observedGeneration', inst.generation)
      .write(this.o.inventory);
    return done();
  }

  /** desired running: the OS profile spec.osId installed on spec.hostId. */
  private async run(inst: Instance): Promise<Result> {
    const patch = new StatusPatch(inst, this.clock);
    // The spec changed under a command in flight (another host, another profile): it serves an
    // intent nobody holds any more.
    for (const stale of this.o.commands.ownedBy(onAnyHost(inst))) if (stale.spec.hostId !== inst.spec.hostId) await this.o.commands.remove(stale);
    let cmd = this.o.commands.find(instanceOwner(inst), 'install-os');
    if (cmd && cmd.spec.params.osId !== inst.spec.osId) {
      await this.o.commands.remove(cmd);
      cmd = undefined;
    }
    if (cmd) return this.follow(inst, cmd, patch);
    if (inst.status.currentState === 'running' && installed(inst) === inst.spec.osId) {
      this.retries.forget(inst.id);
      await patch.triple('instanceStatus', 'idle', 'running').set('observedGeneration', inst.generation).write(this.o.inventory);
      return done();
    }
    if (inst.status.currentState === 'running' && inst.status.currentOsId === inst.spec.osId) {
      // The user set spec.osId to the profile an OS update already moved the instance to: nothing to install.
      this.retries.forget(inst.id);
      await patch.set('provisionedOsId', inst.spec.osId).triple('instanceStatus', 'idle', 'running').set('observedGeneration', inst.generation).write(this.o.inventory);
      return done();
    }
    const wait = this.retries.waitMs(inst.id, inst.generation);
    if (wait > 0) return requeueAfter(wait);
    const host = this.o.hosts.get(inst.spec.hostId);
    const why = hostNotReady(host);
    if (why) {
      // The host's next change of readiness wakes us (see the constructor).
      await patch
        .triple('provisioningStatus', 'in_progress', `waiting for host ${host?.name ?? inst.spec.hostId} (${why})`)
        .triple('instanceStatus', 'in_progress', 'waiting for its host')
        .write(this.o.inventory);
      return done();
    }
    let os;
    try {
      os = await this.o.inventory.get(inst.project, 'OperatingSystem', inst.spec.osId);
    } catch (e) {
      if (isEimError(e) && e.code === 'not_found') return terminal(new Error(`OS profile ${inst.spec.osId} does not exist: set spec.osId to an existing OperatingSystem`));
      throw e;
    }
    const params = installParams(os);
    await this.o.commands.create({ project: inst.project, hostId: inst.spec.hostId, type: 'install-os', params, ownerId: inst.id });
    await patch
      .triple('provisioningStatus', 'in_progress', `installing ${profileLabel(params)}`)
      .triple('instanceStatus', 'in_progress', 'provisioning')
      .write(this.o.inventory);
    return done();
  }

  /** Follows the install command in flight through the agent's answers. */
  private async follow(inst: Instance, cmd: CommandResource, patch: StatusPatch): Promise<Result> {
    const label = profileLabel(cmd.spec.params);
    const s = cmd.status;
    if (s.state === 'succeeded') {
      await patch
        .set('currentState', 'running')
        .set('currentOsId', String(cmd.spec.params.osId))
        .set('provisionedOsId', String(cmd.spec.params.osId))
        .triple('provisioningStatus', 'idle', `provisioned ${label}`)
        .triple('instanceStatus', 'idle', 'running')
        .set('observedGeneration', inst.generation)
        .write(this.o.inventory);
      // After the status that records the outcome, so a crash in between never loses it.
      await this.o.commands.remove(cmd);
      this.retries.forget(inst.id);
      return done();
    }
    if (s.state === 'failed') {
      const reason = `installing ${label} failed: ${s.message || 'the agent gave no reason'}`;
      if (s.recoverable) {
        const { attempt, delayMs } = this.retries.failed(inst.id, inst.generation);
        await patch.triple('provisioningStatus', 'in_progress', `retrying (attempt ${attempt}): ${reason}`).write(this.o.inventory);
        await this.o.commands.remove(cmd);
        return requeueAfter(delayMs);
      }
      this.retries.forget(inst.id);
      await patch.triple('instanceStatus', 'error', 'provisioning failed').write(this.o.inventory);
      await this.o.commands.remove(cmd);
      return terminal(
        new Error(`${reason}; fix OS profile ${String(cmd.spec.params.osId)} (its image or sha256) and then change the instance (a label will do), or set spec.osId to another profile`),
      );
    }
    const progress = s.state === 'running' ? (s.progress !== undefined ? `: ${s.progress} %` : ': running') : '';
    await patch
      .triple('provisioningStatus', 'in_progress', `installing ${label}${progress}`)
      .triple('instanceStatus', 'in_progress', 'provisioning')
      .write(this.o.inventory);
    return done();
  }
}

/**
 * The profile the instance manager installed. An OS update moves currentOsId on (the maintenance
 * manager writes it) without changing spec.osId, so comparing spec.osId with currentOsId would
 * reinstall the old profile after every update. Instances provisioned before provisionedOsId
 * existed fall back to currentOsId.
 */
function installed(inst: Instance): string | undefined {
  return inst.status.provisionedOsId ?? inst.status.currentOsId;
}

/** The instance as the owner of its commands on whichever host of its project they run (the host it was on before, too). */
const onAnyHost = (inst: Instance): CommandOwner => ({ ...instanceOwner(inst), hostId: undefined });
