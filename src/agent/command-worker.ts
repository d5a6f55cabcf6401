import { type AgentCommand, type CommandResult, isEimError } from '../api/index.ts';
import type { AgentLog } from './agent-log.ts';
import { type Clock, sleep } from './clock.ts';
import type { CommandJournal } from './command-journal.ts';
import { type Executor, failed, type RunContext, succeeded } from './executor/executor.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';
import type { SouthboundClient } from './southbound-client.ts';

export interface CommandWorkerDeps {
  client: Pick<SouthboundClient, 'commandResult'>;
  executor: Executor;
  journal: CommandJournal;
  log: AgentLog;
  clock: Clock;
  /** Aborts when the agent stops: the running command is told to stop, nothing new starts. */
  signal: AbortSignal;
  bootId?: string;
  /** At most one `running` progress post per this long. @default 1000 */
  progressIntervalMs?: number;
  backoff?: () => ReconnectBackoff;
  /** A call answered 401: the agent's token is gone. */
  onUnauthenticated(error: Error): void;
  /** What the executor may know about the machine (the OS profile it runs). @default nothing */
  context?: () => RunContext;
  /** A command (or a config from the stream) succeeded: the agent updates what it reports. */
  onSucceeded(command: AgentCommand, result: CommandResult): void;
}

type Task = () => Promise<void>;

/**
 * Runs the commands of the agent's stream one at a time, each at most once: the journal records
 * a command before it runs, so one delivered again (reconnect, restart) is answered from the
 * journal instead. Posts `running` with progress once a command has run for a progress interval,
 * then the final result (retried while the server is unreachable).
 * @example worker.enqueue(command) // returns at once; the command runs in order
 */
export class CommandWorker {
  private readonly tasks: Task[] = [];
  private readonly pending = new Set<string>();
  private busy?: Promise<void>;
  private readonly progressIntervalMs: number;

  constructor(private readonly d: CommandWorkerDeps) {
    this.progressIntervalMs = d.progressIntervalMs ?? 1000;
  }

  /** Queues a command from the stream; duplicates of a queued or running one are dropped. */
  enqueue(command: AgentCommand): void {
    if (this.pending.has(command.id)) return;
    const entry = this.d.journal.get(command.id);
    if (entry?.state === 'finished' && entry.result) {
      this.d.log.info(`command ${command.id} (${command.type}) already ran (${entry.result.state}); not running it again, reporting its result again`);
      const result = entry.result;
      this.push(command.id, () => this.postFinal(command.id, command.type, result));
    } else if (entry) {
      this.push(command.id, () => this.finishInterrupted(command));
    } else {
      this.push(command.id, () => this.execute(command));
    }
  }

  /** A config from the stream: applied like an apply-config command, without a result to post. */
  enqueueConfig(version: string, config: unknown): void {
    const command: AgentCommand = { id: `config-${version}`, type: 'apply-config', params: { version, config }, issuedAt: new Date(this.d.clock.now()).toISOString() };
    this.push(command.id, async () => {
      const result = await this.safeRun(command, () => {});
      if (result.state === 'succeeded') this.d.onSucceeded(command, result);
      else this.d.log.warn(`config version ${version} from the stream was not applied: ${result.message}`);
    });
  }

  /** Answers a command the agent could not read with an unrecoverable failure. */
  reject(id: string, message: string): void {
    this.push(id, () => this.postFinal(id, 'unreadable command', failed(message, false)));
  }

  /** Resolves when every queued task is done (or the agent stopped). */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  private push(id: string, task: Task): void {
    this.pending.add(id);
    this.tasks.push(async () => {
      try {
        await task();
      } finally {
        this.pending.delete(id);
      }
    });
    this.busy ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.tasks.length > 0 && !this.d.signal.aborted) {
        try {
          await this.tasks.shift()!();
        } catch (e) {
          this.d.log.error(`command handling failed: ${(e as Error).message}`);
        }
      }
    } finally {
      this.busy = undefined;
    }
  }

  private async execute(command: AgentCommand): Promise<void> {
    this.d.journal.start(command, this.d.bootId);
    this.d.log.info(`running command ${command.id} (${command.type}) with the ${this.d.executor.name} executor`);
    let chain: Promise<void> = Promise.resolve();
    let lastAt = -Infinity;
    let lastPercent = -1;
    const post = (percent: number, message?: string) => {
      const progress = Math.max(0, Math.min(100, Math.round(percent)));
      const now = this.d.clock.now();
      if (progress === lastPercent || now - lastAt < this.progressIntervalMs) return;
      lastAt = now;
      lastPercent = progress;
      const body: CommandResult = { state: 'running', progress, ...(message ? { message: message.slice(0, 4096) } : {}) };
      chain = chain.then(() =>
        this.d.client.commandResult(command.id, body).catch((e: Error) => {
          if (isEimError(e) && e.code === 'unauthenticated') this.d.onUnauthenticated(e);
          else this.d.log.warn(`progress of command ${command.id} not reported: ${e.message}`);
        }),
      );
    };
    // A power change says "running" only once it has run for a progress interval: one that is
    // over sooner is answered with its result alone, which spares the server two writes (the
    // command's status and its host's progress) on the path to that result. Installs and updates
    // say it at once: their phases (downloading, installing) are what the operator follows.
    let started: ReturnType<typeof this.d.clock.setTimeout> | undefined;
    if (command.type === 'power') {
      lastAt = this.d.clock.now();
      started = this.d.clock.setTimeout(() => {
        if (lastPercent !== -1) return; // progress went out already
        lastAt = -Infinity;
        post(0, `started ${command.type}`);
      }, this.progressIntervalMs);
    } else {
      post(0, `started ${command.type}`);
    }
    const result = await this.safeRun(command, post).finally(() => started !== undefined && this.d.clock.clearTimeout(started));
    // Stopped mid-command: leave it "started"; after a restart it is reported as interrupted.
    if (this.d.signal.aborted && result.state !== 'succeeded') {
      this.d.log.warn(`stopped while running command ${command.id} (${command.type}); it will not run again`);
      return;
    }
    this.d.journal.finish(command.id, result);
    if (result.state === 'succeeded') this.d.onSucceeded(command, result);
    await chain;
    await this.postFinal(command.id, command.type, result);
  }

  private async safeRun(command: AgentCommand, progress: (p: number, m?: string) => void): Promise<CommandResult> {
    try {
      return await this.d.executor.run(command, progress, this.d.signal, this.d.context?.() ?? {});
    } catch (e) {
      // Executors answer with results; a throw is a bug there, and trying again may not repeat it.
      return failed(`the ${this.d.executor.name} executor failed on ${command.type}: ${(e as Error).message}`, true);
    }
  }

  /** A command the journal shows as started but not finished: the agent (or the machine) stopped under it. */
  private async finishInterrupted(command: AgentCommand): Promise<void> {
    const entry = this.d.journal.get(command.id)!;
    const rebooted = !!entry.bootId && !!this.d.bootId && entry.bootId !== this.d.bootId;
    const result =
      entry.type === 'power' && entry.power !== undefined && entry.power !== 'on' && rebooted
        ? succeeded(`the machine restarted after power ${entry.power} began (its boot id changed): the command took effect`, { rebooted: true })
        : failed(
            `the agent stopped while running this command (${rebooted ? 'the machine restarted' : 'the agent restarted'}); it is not run again, so that it can never run twice: issue it again if it is still needed`,
            true,
          );
    this.d.log.warn(`command ${command.id} (${command.type}) was interrupted earlier: reporting ${result.state}`);
    this.d.journal.finish(command.id, result);
    await this.postFinal(command.id, command.type, result);
  }

  private async postFinal(id: string, what: string, result: CommandResult): Promise<void> {
    const backoff = this.d.backoff?.() ?? new ReconnectBackoff();
    for (;;) {
      try {
        await this.d.client.commandResult(id, result);
        const log = result.state === 'failed' ? this.d.log.warn.bind(this.d.log) : this.d.log.info.bind(this.d.log);
        log(`command ${id} (${what}) ${result.state}${result.state === 'failed' ? (result.recoverable ? ' (recoverable)' : ' (not recoverable)') : ''}: ${result.message ?? ''}`);
        return;
      } catch (e) {
        const err = e as Error;
        if (isEimError(err) && err.code === 'unauthenticated') return this.d.onUnauthenticated(err);
        if (!isEimError(err) || !['unavailable', 'rate_limited', 'internal'].includes(err.code)) {
          this.d.log.warn(`the server refused the result of command ${id}: ${err.message}; not sending it again`);
          return;
        }
        if (this.d.signal.aborted) return;
        const delay = backoff.next();
        this.d.log.warn(`result of command ${id} not delivered (${err.message}); trying again in ${(delay / 1000).toFixed(1)} s`);
        await sleep(this.d.clock, delay, this.d.signal);
        if (this.d.signal.aborted) return;
      }
    }
  }
}
