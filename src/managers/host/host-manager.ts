import { isEnrolled, kindById, placeholderWarning, usableIdentity } from '../../api/index.ts';
import { type Clock, Controller, type ControllerStats, done, type ReconcileContext, requeueAfter, type Result, systemClock } from '../../reconcile/index.ts';
import { type CommandResource, hostOwner } from '../shared/command-tracker.ts';
import { controllerBase, type Host, type ManagerDeps, type ManagerTuning } from '../shared/manager-deps.ts';
import { finishDelete } from '../shared/finish-delete.ts';
import { soonest } from '../shared/soonest.ts';
import { StatusPatch } from '../shared/status-patch.ts';
import { AutoProvisioner, NoDefaultOsError, type OperatingSystem } from './auto-provision.ts';
import { HostPower } from './host-power.ts';

export interface HostManagerOptions extends ManagerDeps, ManagerTuning {
  /** How soon to look again for a default OS profile when a host with autoProvision found none. @default 30000 */
  osProfileRetryMs?: number;
}

/** onboardingStatus (idle) of an untrusted host. */
export const INVALIDATED_MESSAGE = 'invalidated: credentials revoked';

/**
 * Reconciles Hosts: onboarding, autoProvision, power, invalidation and removal.
 *
 * The controller owns `onboardingStatus`: the manager's own failures (the inventory unreachable, a
 * removal blocked by a reference) show there as "retrying (attempt N): …". Power has its own triple,
 * `powerStatus` (see HostPower). Everything one reconcile decides is written in one status patch.
 *
 * What it leaves to the southbound layer: enrolment (registrationStatus), connection (hostStatus),
 * hardware, revoking agent tokens, and delivering Commands. Those writes are events that wake it.
 * @example const m = new HostManager({ inventory, project: ALL_PROJECTS, hosts, instances, instancesByHost, commands }); m.start(); … await m.stop()
 */
export class HostManager {
  readonly controller: Controller<'Host', Host>;
  private readonly power: HostPower;
  private readonly provisioner: AutoProvisioner;
  private readonly clock: Clock;

  constructor(private readonly o: HostManagerOptions) {
    this.clock = o.clock ?? systemClock;
    this.power = new HostPower(o.commands, this.clock, o.backoff);
    this.provisioner = new AutoProvisioner(o.inventory, o.instancesByHost);
    this.controller = new Controller({
      name: 'host-manager',
      ...controllerBase(o, this.clock),
      kind: 'Host',
      informer: o.hosts,
      statusField: 'onboardingStatus',
      waitFor: Promise.all([o.hosts.synced, o.instances.synced, o.commands.informer.synced]),
      reconcile: (ctx) => this.sync(ctx),
    });
    o.commands.onOwnerChange((ownerId) => {
      if (kindById(ownerId)?.kind === 'Host') this.controller.queue.add(ownerId);
    });
    // autoProvision keeps one instance per host: a removed one is replaced.
    o.instances.on({
      delete: (inst) => {
        if (o.hosts.get(inst.spec.hostId)?.spec.autoProvision) this.controller.queue.add(inst.spec.hostId);
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

  private async sync({ key, object: host }: ReconcileContext<Host>): Promise<Result> {
    if (!host) {
      this.power.forget(key);
      return done();
    }
    switch (host.spec.desiredState) {
      case 'deleted':
        return this.remove(host);
      case 'untrusted':
        return this.invalidate(host);
      default:
        return this.onboard(host);
    }
  }

  /**
   * Removing the row as the manager removes its discovered children, instances and commands with it
   * (owner references). Nothing here waits for the node: an offline host goes just the same.
   */
  private async remove(host: Host): Promise<Result> {
    return finishDelete(this.o.inventory, host, () => this.power.forget(host.id));
  }

  /** The southbound layer revokes the agent's token when it sees desiredState untrusted. */
  private async invalidate(host: Host): Promise<Result> {
    await this.o.commands.removeAll(hostOwner(host));
    this.power.forget(host.id);
    await new StatusPatch(host, this.clock)
      .set('currentState', 'untrusted')
      .triple('onboardingStatus', 'idle', INVALIDATED_MESSAGE)
      .set('observedGeneration', host.generation)
      .write(this.o.inventory);
    return done();
  }

  /** desired registered or onboarded: both wait for the agent's enrolment (an event), then hold. */
  private async onboard(host: Host): Promise<Result> {
    const patch = new StatusPatch(host, this.clock);
    if (!isEnrolled(host)) {
      patch.triple('onboardingStatus', 'in_progress', `waiting for the agent to enroll (${identity(host)})`);
      await patch.write(this.o.inventory);
      return done();
    }
    const desired = host.spec.desiredState;
    patch.set('currentState', desired).triple('onboardingStatus', 'idle', desired).set('observedGeneration', host.generation);
    const finished: CommandResource[] = [];
    const provision = desired === 'onboarded' && host.spec.autoProvision ? await this.planInstance(host, patch) : undefined;
    const result = soonest(provision?.result ?? done(), await this.power.reconcile(host, patch, finished));
    await patch.write(this.o.inventory);
    // After the status that records their outcome, so a crash in between never loses an answer.
    for (const cmd of finished) await this.o.commands.remove(cmd);
    // After "onboarded" is written, so the instance manager finds its host ready.
    if (provision?.os) await this.provisioner.create(host, provision.os);
    return result;
  }

  /** What autoProvision needs: an OS profile to create the instance of, or a requeue after writing why not. */
  private async planInstance(host: Host, patch: StatusPatch): Promise<{ os?: OperatingSystem; result: Result }> {
    try {
      return { os: await this.provisioner.needs(host), result: done() };
    } catch (e) {
      if (!(e instanceof NoDefaultOsError)) throw e;
      patch.triple('onboardingStatus', 'error', `onboarded, but cannot auto-provision an instance: ${e.message}`);
      return { result: requeueAfter(this.o.osProfileRetryMs ?? 30_000) };
    }
  }
}

/** How the agent will be matched, for the waiting message. */
/** What the agent will be matched by; a vendor placeholder (registered as the serial, say) is named as ignored. */
function identity(host: Host): string {
  const id = usableIdentity(host.spec);
  const ids = [id.uuid && `uuid ${id.uuid}`, id.serialNumber && `serial ${id.serialNumber}`].filter(Boolean);
  const warning = placeholderWarning(id.ignored);
  if (ids.length === 0) return `the host has neither uuid nor serial number${warning ? ` (${warning})` : ''}: set one so the agent can be matched`;
  return `${ids.join(', ')}${warning ? `; ${warning}` : ''}`;
}
