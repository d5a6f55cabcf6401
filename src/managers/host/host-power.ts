import { isConnected, type PowerState, type Resource, type ResourceOf } from '../../api/index.ts';
import { type BackoffOptions, type Clock, done, requeueAfter, type Result, TERMINAL_SUFFIX } from '../../reconcile/index.ts';
import { type CommandResource, type CommandTracker, hostOwner } from '../shared/command-tracker.ts';
import { RetryTimer } from '../shared/retry-timer.ts';
import type { StatusPatch } from '../shared/status-patch.ts';

type Host = ResourceOf<'Host'> & Resource;

/**
 * How long a power command just sent may run before the host shows it in progress. Most answer
 * within milliseconds: their host then goes straight to the result, one status write instead of
 * two (like the agent, which says "running" only after its progress interval).
 */
export const POWER_QUIET_MS = 1000;

const VERB: Record<PowerState, string> = { on: 'powering on', off: 'powering off', reset: 'resetting', 'power-cycle': 'power-cycling' };

/** powerStatus once the host is in the desired power state (idle). */
export const powerDoneMessage = (want: PowerState): string => (want === 'on' || want === 'off' ? `power ${want}` : `${want} done; power on`);

/** reset and power-cycle are actions, not states: they end with the host on. */
const resultingState = (want: PowerState): 'on' | 'off' => (want === 'off' ? 'off' : 'on');

/**
 * The host's power, through `power` Commands: desired `spec.desiredPowerState`, current
 * `status.currentPowerState`, progress and errors in `status.powerStatus`.
 *
 * - `on`/`off` are states: done when currentPowerState matches.
 * - `reset`/`power-cycle` are actions: done once, marked by powerStatus "reset done; power on" (and
 *   currentPowerState `on`). To run one again, set desiredPowerState to `on` and then back.
 * - One command per host at a time (see commandName); a change of mind supersedes the one in flight.
 * - A recoverable failure is retried with per-host backoff; an unrecoverable one shows indicator
 *   `error` and is not retried until the host's spec changes (its generation).
 */
export class HostPower {
  private readonly retries: RetryTimer;
  /** Host id → the generation whose power command failed for good. */
  private readonly parked = new Map<string, number>();

  constructor(
    private readonly commands: CommandTracker,
    private readonly clock: Clock,
    backoff?: BackoffOptions,
  ) {
    this.retries = new RetryTimer(clock, backoff);
  }

  /**
   * Puts what the host's power needs into `patch` (and commands to remove after it is written into
   * `finished`); creates a command when one is due. The host must be enrolled.
   */
  async reconcile(host: Host, patch: StatusPatch, finished: CommandResource[]): Promise<Result> {
    const want = host.spec.desiredPowerState;
    let cmd = this.commands.find(hostOwner(host), 'power');
    if (!want) return done();
    let status = host.status;
    if (cmd && cmd.spec.params.state !== want) {
      // Superseded after it succeeded: what it did to the machine stands (the agent reports its
      // power state only with its next heartbeat).
      if (cmd.status.state === 'succeeded') {
        const was = resultingState(cmd.spec.params.state as PowerState);
        patch.set('currentPowerState', was);
        status = { ...status, currentPowerState: was };
      }
      await this.commands.remove(cmd);
      cmd = undefined;
    }
    if (cmd) return this.follow(host, want, cmd, patch, finished);
    if (this.settled(status, want)) {
      patch.triple('powerStatus', 'idle', powerDoneMessage(want));
      return done();
    }
    if (this.isParked(host)) return done();
    const wait = this.retries.waitMs(host.id, host.generation);
    if (wait > 0) return requeueAfter(wait);
    if (!isConnected(host)) {
      patch.triple('powerStatus', 'in_progress', `${VERB[want]}: waiting for the host to connect`);
      return done();
    }
    await this.commands.create({ project: host.project, hostId: host.id, type: 'power', params: { state: want }, ownerId: host.id });
    // Written with the result, or by the look again after POWER_QUIET_MS if the agent is slower.
    patch.triple('powerStatus', 'in_progress', `${VERB[want]}: sent to the agent`).hold('powerStatus', 'observedGeneration');
    return requeueAfter(POWER_QUIET_MS);
  }

  forget(hostId: string): void {
    this.retries.forget(hostId);
    this.parked.delete(hostId);
  }

  private follow(host: Host, want: PowerState, cmd: CommandResource, patch: StatusPatch, finished: CommandResource[]): Result {
    const s = cmd.status;
    if (s.state === 'succeeded') {
      patch.set('currentPowerState', resultingState(want));
      patch.triple('powerStatus', 'idle', powerDoneMessage(want));
      finished.push(cmd);
      this.retries.forget(host.id);
      return done();
    }
    if (s.state === 'failed') {
      finished.push(cmd);
      const reason = `${VERB[want]} failed: ${s.message || 'the agent gave no reason'}`;
      if (s.recoverable) {
        const { attempt, delayMs } = this.retries.failed(host.id, host.generation);
        patch.triple('powerStatus', 'in_progress', `retrying (attempt ${attempt}): ${reason}`);
        return requeueAfter(delayMs);
      }
      this.retries.forget(host.id);
      this.parked.set(host.id, host.generation);
      patch.triple('powerStatus', 'error', `${reason}; check the host's power controller, then set spec.desiredPowerState again${TERMINAL_SUFFIX}`);
      return done();
    }
    const progress = s.state === 'running' && s.progress !== undefined ? `: ${s.progress} %` : s.state === 'running' ? ': running' : ': sent to the agent';
    patch.triple('powerStatus', 'in_progress', `${VERB[want]}${progress}`);
    return done();
  }

  private settled(status: Host['status'], want: PowerState): boolean {
    if (want === 'on' || want === 'off') return status.currentPowerState === want;
    return status.powerStatus?.indicator === 'idle' && status.powerStatus.message === powerDoneMessage(want);
  }

  /**
   * A terminal failure holds for the generation it happened at. In memory, and in the stored status
   * (so it survives a restart): powerStatus `error` with the terminal mark, and observedGeneration
   * (written by the same reconcile) still at the current generation. The host manager writes
   * observedGeneration and powerStatus in one patch, so a new generation always gets one attempt.
   */
  private isParked(host: Host): boolean {
    const g = this.parked.get(host.id);
    if (g === host.generation) return true;
    if (g !== undefined) this.parked.delete(host.id);
    const ps = host.status.powerStatus;
    return ps?.indicator === 'error' && ps.message.endsWith(TERMINAL_SUFFIX) && host.status.observedGeneration === host.generation;
  }
}
