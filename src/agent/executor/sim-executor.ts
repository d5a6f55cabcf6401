import type { AgentCommand, CommandResult, NodeConfigPayload } from '../../api/index.ts';
import { type Clock, sleep, systemClock } from '../clock.ts';
import { seededRandom } from '../seeded-random.ts';
import { applyConfigParams, InvalidParamsError, installOsParams, powerParams, type UpdateOsParams, updateOsParams } from './command-params.ts';
import { type Executor, failed, type Progress, type RunContext, succeeded } from './executor.ts';
import type { NodeConfigApplyResult, NodeConfigMemory } from './node-config-apply.ts';
import { SimNodeConfig } from './sim-node-config.ts';

export interface SimExecutorOptions {
  /** How long each command takes (power and apply-config take a tenth of it). @default 2000 */
  durationMs?: number;
  /** Share of commands that fail recoverably ("download timed out"). @default 0 */
  failRate?: number;
  /** Share of commands that fail for good ("checksum mismatch"). @default 0 */
  unrecoverableRate?: number;
  /** With the command id, decides which commands fail: same seed and id, same outcome, in any order. @default 0 */
  seed?: number | string;
  /** How long an update-os takes (its four phases). @default durationMs */
  updateDurationMs?: number;
  /** Share of update-os commands that fail (and roll back), instead of failRate and unrecoverableRate. @default those rates */
  updateFailRate?: number;
  /** Scripted outcomes for the first commands, in order, before the rates apply (tests, demos). @default [] */
  script?: readonly ('ok' | 'recoverable' | 'unrecoverable')[];
  clock?: Clock;
  /** Hears each OS the machine now runs (an install, an update to a new profile), so its hardware can report it. @default nothing */
  onOsChange?: (os: SimOs) => void;
  /** The OS profile the machine runs when it starts (a simulator restarting remembers it). @default none */
  osId?: string;
  /** Hears each power command that succeeded, with its command id: the simulator makes the machine go silent (off) or reboot. @default nothing */
  onPower?: (target: 'on' | 'off' | 'reset' | 'power-cycle', commandId: string) => void;
  /** How long applying a node configuration takes. @default durationMs / 20 */
  nodeConfigMs?: number;
  /** Share of node-config items failing recoverably on each attempt (drawn per seed, version, item and attempt). @default 0 */
  nodeConfigFailRate?: number;
  /** Decides failures of node-config items by name (`account:ops`), with the attempt (1, 2, …) of that version. @default none */
  nodeConfigFail?: (item: string, attempt: number) => 'recoverable' | 'unrecoverable' | undefined;
}

/** The OS a simulated machine runs, as an install or update left it. */
export interface SimOs {
  osId?: string;
  profileName?: string;
  profileVersion?: string;
}

const STEPS = 4;

/**
 * Pretends to run commands: waits, reports progress, and fails a configurable share of them.
 * Which commands fail depends only on (seed, command id), so a run can be replayed exactly and
 * concurrency does not change outcomes; a retry is a new command id, so it draws again.
 * @example new SimExecutor({ durationMs: 2000, failRate: 0.05, unrecoverableRate: 0.01, seed: 42 })
 */
export class SimExecutor implements Executor {
  readonly name = 'sim';
  private power: 'on' | 'off' = 'on';
  private readonly o: Required<Omit<SimExecutorOptions, 'seed' | 'updateDurationMs' | 'updateFailRate' | 'onOsChange' | 'onPower' | 'osId' | 'nodeConfigMs' | 'nodeConfigFailRate' | 'nodeConfigFail'>> &
    Pick<SimExecutorOptions, 'updateDurationMs' | 'updateFailRate' | 'onOsChange' | 'onPower' | 'osId' | 'nodeConfigMs' | 'nodeConfigFailRate' | 'nodeConfigFail'> & { seed: number | string };
  /** The node's accounts and files, as node configuration left them. */
  readonly node = new SimNodeConfig();
  private nodeConfigAttempts = { version: '', n: 0 };
  private scripted = 0;
  /** The profile the machine runs, as far as this executor knows: the agent's word (context.osId) wins. */
  private osId?: string;

  constructor(options: SimExecutorOptions = {}) {
    this.o = { durationMs: 2000, failRate: 0, unrecoverableRate: 0, seed: 0, clock: systemClock, script: [], ...options };
    for (const k of ['failRate', 'unrecoverableRate', 'updateFailRate'] as const) {
      if (k === 'updateFailRate' && this.o[k] === undefined) continue;
      if (!((this.o[k] as number) >= 0 && (this.o[k] as number) <= 1)) throw new RangeError(`SimExecutor: ${k} must be between 0 and 1 (got ${this.o[k]})`);
    }
    if (this.o.failRate + this.o.unrecoverableRate > 1) throw new RangeError('SimExecutor: failRate + unrecoverableRate must be at most 1');
    this.osId = options.osId;
  }

  /**
   * Applies a node configuration to the simulated machine (SimNodeConfig): accounts, keys, sudo,
   * files and cloud-init runs, in memory, with the same refusals as a real node (a system account
   * below uid 1000 is not taken over) and injected failures (nodeConfigFailRate, nodeConfigFail).
   */
  async applyNodeConfig(desired: NodeConfigPayload, previous: NodeConfigMemory, signal: AbortSignal): Promise<NodeConfigApplyResult> {
    await sleep(this.o.clock, this.o.nodeConfigMs ?? this.o.durationMs / 20, signal);
    if (this.nodeConfigAttempts.version !== desired.version) this.nodeConfigAttempts = { version: desired.version, n: 0 };
    const attempt = ++this.nodeConfigAttempts.n;
    const inject = (item: string): 'recoverable' | 'unrecoverable' | undefined => {
      const scripted = this.o.nodeConfigFail?.(item, attempt);
      if (scripted) return scripted;
      const rate = this.o.nodeConfigFailRate ?? 0;
      return rate > 0 && seededRandom(`${this.o.seed}/${desired.version}/${item}/${attempt}`)() < rate ? 'recoverable' : undefined;
    };
    return this.node.apply(desired, previous, inject);
  }

  powerState(): 'on' | 'off' {
    return this.power;
  }

  /** The machine was switched on again (by the simulator's out-of-band power control). */
  poweredOn(): void {
    this.power = 'on';
  }

  /** What a command will come to, without running it: 'ok', 'recoverable' or 'unrecoverable'. */
  outcome(commandId: string): 'ok' | 'recoverable' | 'unrecoverable' {
    const draw = seededRandom(`${this.o.seed}/${commandId}`)();
    if (draw < this.o.unrecoverableRate) return 'unrecoverable';
    if (draw < this.o.unrecoverableRate + this.o.failRate) return 'recoverable';
    return 'ok';
  }

  async run(command: AgentCommand, progress: Progress, signal: AbortSignal, context: RunContext = {}): Promise<CommandResult> {
    if (command.type === 'update-os') return this.update(command, progress, signal, context);
    let message: string;
    let details: Record<string, unknown> | undefined;
    try {
      ({ message, details } = this.plan(command));
    } catch (e) {
      if (e instanceof InvalidParamsError) return failed(e.message, false);
      throw e;
    }
    const quick = command.type === 'power' || command.type === 'apply-config';
    const total = quick ? this.o.durationMs / 10 : this.o.durationMs;
    const outcome = this.scripted < this.o.script.length ? this.o.script[this.scripted++] : this.outcome(command.id);
    // A failing command fails halfway, as a real one would.
    const steps = outcome === 'ok' ? STEPS : STEPS / 2;
    for (let i = 0; i < steps; i++) {
      progress(Math.round((i / STEPS) * 100), `${command.type}: step ${i + 1} of ${STEPS}`);
      await sleep(this.o.clock, total / STEPS, signal);
      if (signal.aborted) return failed(`${command.type} stopped: the agent is stopping`, true);
    }
    if (outcome === 'recoverable') return failed(`simulated recoverable failure of ${command.type}: the image server timed out (injected, fail rate ${this.o.failRate})`, true);
    if (outcome === 'unrecoverable') return failed(`simulated unrecoverable failure of ${command.type}: checksum mismatch (injected, unrecoverable rate ${this.o.unrecoverableRate})`, false);
    if (command.type === 'power') {
      const target = powerParams(command);
      this.power = target === 'off' ? 'off' : 'on';
      this.o.onPower?.(target, command.id);
    }
    if (command.type === 'install-os') {
      const p = installOsParams(command);
      this.osId = p.osId ?? this.osId;
      this.o.onOsChange?.({ osId: p.osId, profileName: p.profileName, profileVersion: p.profileVersion });
    }
    return succeeded(message, details);
  }

  /**
   * update-os in its phases: downloading (an image; packages otherwise), applying, rebooting,
   * verifying, each named in its progress message. An injected failure strikes while applying or
   * rebooting; the node then rolls back to the profile it had (`context.osId`) and answers
   * `failed` with `details: { rolledBack: true, rolledBackTo }`.
   */
  private async update(c: AgentCommand, progress: Progress, signal: AbortSignal, context: RunContext): Promise<CommandResult> {
    let p: UpdateOsParams;
    try {
      p = updateOsParams(c);
    } catch (e) {
      if (e instanceof InvalidParamsError) return failed(e.message, false);
      throw e;
    }
    const target = p.image ? (p.image.profileName ? `${p.image.profileName}${p.image.profileVersion ? ` ${p.image.profileVersion}` : ''}` : (p.image.osId ?? p.image.imageUrl)) : undefined;
    const what = [target, p.packages?.length ? `packages ${p.packages.join(', ')}` : undefined, p.kernelCommand ? `kernel command "${p.kernelCommand}"` : undefined].filter(Boolean).join(', ') || 'the installed packages';
    const phases: [string, string][] = [
      ['downloading', target ? `downloading ${p.image!.imageUrl}` : `downloading ${p.packages?.length ? p.packages.join(', ') : 'package updates'}`],
      ['applying', `applying ${what}`],
      ['rebooting', 'rebooting'],
      ['verifying', `verifying ${target ?? 'the updated system'}`],
    ];
    const rate = this.o.updateFailRate;
    const drawn = rate === undefined ? this.outcome(c.id) : seededRandom(`${this.o.seed}/${c.id}`)() < rate ? 'unrecoverable' : 'ok';
    const outcome = this.scripted < this.o.script.length ? this.o.script[this.scripted++] : drawn;
    const failAt = outcome === 'ok' ? -1 : outcome === 'recoverable' ? 2 : 1;
    const step = (this.o.updateDurationMs ?? this.o.durationMs) / phases.length;
    for (const [i, [phase, message]] of phases.entries()) {
      progress(Math.round((i / phases.length) * 100), message);
      await sleep(this.o.clock, step, signal);
      if (signal.aborted) return failed('update-os stopped: the agent is stopping', true);
      if (i === failAt) {
        const from = context.osId ?? this.osId;
        const why = outcome === 'recoverable' ? 'the node did not come back healthy after the reboot' : 'the new system failed to apply (package conflict)';
        progress(Math.round(((i + 0.5) / phases.length) * 100), `rolling back to ${from ?? 'the previous system'}`);
        await sleep(this.o.clock, step / 2, signal);
        return failed(
          `simulated update failure while ${phase}: ${why} (injected${rate !== undefined ? `, update fail rate ${rate}` : outcome === 'recoverable' ? `, fail rate ${this.o.failRate}` : `, unrecoverable rate ${this.o.unrecoverableRate}`}); rolled back to ${from ?? 'the previous system'}`,
          outcome === 'recoverable',
          { simulated: true, failedPhase: phase, rolledBack: true, ...(from ? { rolledBackTo: from } : {}) },
        );
      }
    }
    if (p.image?.osId) this.osId = p.image.osId;
    if (p.image) this.o.onOsChange?.({ osId: p.image.osId, profileName: p.image.profileName, profileVersion: p.image.profileVersion });
    return succeeded(`simulated: updated to ${what}`, { simulated: true, phases: phases.map(([ph]) => ph), ...(p.image?.osId ? { osId: p.image.osId } : (context.osId ?? this.osId) ? { osId: context.osId ?? this.osId } : {}) });
  }

  private plan(c: AgentCommand): { message: string; details?: Record<string, unknown> } {
    switch (c.type) {
      case 'install-os': {
        const p = installOsParams(c);
        return { message: `simulated: installed ${p.profileName ?? p.osId ?? p.imageUrl}`, details: { simulated: true, osId: p.osId } };
      }
      case 'update-os':
        throw new Error('update-os runs in update()');
      case 'wipe':
        return { message: 'simulated: wiped the disk', details: { simulated: true } };
      case 'power': {
        const target = powerParams(c);
        return { message: `simulated: power ${target}`, details: { simulated: true, powerState: target === 'off' ? 'off' : 'on' } };
      }
      case 'apply-config': {
        const p = applyConfigParams(c);
        return { message: `simulated: applied config version ${p.version}`, details: { simulated: true, configVersion: p.version } };
      }
    }
  }
}
