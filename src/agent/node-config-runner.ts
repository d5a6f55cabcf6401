import { isEimError, type NodeConfigItemResult, type NodeConfigPayload, type NodeConfigReport } from '../api/index.ts';
import type { AgentLog } from './agent-log.ts';
import { type Clock, sleep } from './clock.ts';
import { EMPTY_NODE_CONFIG_MEMORY, canApplyNodeConfig, type NodeConfigMemory } from './executor/node-config-apply.ts';
import type { Executor } from './executor/executor.ts';
import type { ReconnectBackoff } from './reconnect-backoff.ts';

export interface NodeConfigRunnerDeps {
  executor: Executor;
  report(report: NodeConfigReport): Promise<void>;
  /** What the agent remembers of earlier applies (agent.json), and a way to save it. */
  load(): NodeConfigMemory | undefined;
  save(memory: NodeConfigMemory, appliedVersion: string): void;
  log: AgentLog;
  clock: Clock;
  signal: AbortSignal;
  /** Waits between retries of recoverable failures and of reports the server did not take. */
  backoff(): ReconnectBackoff;
  onUnauthenticated(error: Error): void;
}

/**
 * Applies the node configuration of the agent's stream (`event: node-config`), one version at a
 * time, newest wins: an apply in progress finishes, then the latest version offered is applied.
 * After each apply it reports the per-item results (POST /southbound/v1/node-config); items that
 * failed recoverably are applied again after a backoff, until they succeed or a new version comes;
 * unrecoverable failures wait for a new version.
 * @example const r = new NodeConfigRunner(deps); r.offer(payload)
 */
export class NodeConfigRunner {
  private desired?: NodeConfigPayload;
  private running?: Promise<void>;
  private wake?: () => void;
  applies = 0;

  constructor(private readonly d: NodeConfigRunnerDeps) {}

  /** A version from the stream (again after a reconnect: applying is idempotent, so it is applied again). */
  offer(payload: NodeConfigPayload): void {
    this.desired = payload;
    this.wake?.();
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /** Resolves when nothing is being applied or retried. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    const retry = this.d.backoff();
    while (!this.d.signal.aborted && this.desired) {
      const payload = this.desired;
      this.desired = undefined;
      const items = await this.apply(payload);
      await this.report({ version: payload.version, items });
      const again = items.some((i) => i.state === 'failed' && i.recoverable);
      if (!again) {
        retry.reset();
        continue;
      }
      // Retry the same version after a backoff, unless a newer one arrives first.
      const delay = retry.next();
      this.d.log.warn(`node config ${payload.version}: ${items.filter((i) => i.state === 'failed').map((i) => i.item).join(', ')} failed; trying again in ${(delay / 1000).toFixed(1)} s`);
      const newer = new Promise<void>((r) => (this.wake = r));
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      this.d.signal.addEventListener('abort', onAbort, { once: true });
      await Promise.race([sleep(this.d.clock, delay, ac.signal), newer]);
      ac.abort();
      this.d.signal.removeEventListener('abort', onAbort);
      this.wake = undefined;
      this.desired ??= payload;
    }
  }

  private async apply(payload: NodeConfigPayload): Promise<NodeConfigItemResult[]> {
    const ex = this.d.executor;
    if (!canApplyNodeConfig(ex)) {
      const why = `the ${ex.name} executor does not apply node configuration`;
      return [...payload.accounts.map((a) => `account:${a.username}`), ...payload.configs.map((c) => `config:${c.sourceId}`)].map((item) => ({ item, state: 'failed' as const, recoverable: false, message: why }));
    }
    const previous = this.d.load() ?? EMPTY_NODE_CONFIG_MEMORY;
    const { items, memory } = await ex.applyNodeConfig(payload, previous, this.d.signal);
    this.applies++;
    this.d.save(memory, payload.version);
    const failed = items.filter((i) => i.state === 'failed');
    if (failed.length === 0) this.d.log.info(`applied node config ${payload.version} (${payload.accounts.length} accounts, ${payload.configs.length} configs)`);
    return items.slice(0, 128);
  }

  /** Sends the report, again after a backoff while the server is unreachable; a refusal is logged, not retried. */
  private async report(report: NodeConfigReport): Promise<void> {
    const backoff = this.d.backoff();
    while (!this.d.signal.aborted) {
      try {
        await this.d.report(report);
        return;
      } catch (e) {
        if (isEimError(e) && e.code === 'unauthenticated') return this.d.onUnauthenticated(e);
        if (isEimError(e) && ['invalid_argument', 'failed_precondition', 'not_found', 'payload_too_large'].includes(e.code)) {
          this.d.log.warn(`the server refused the node config report: ${e.message}`);
          return;
        }
        const delay = backoff.next();
        this.d.log.warn(`node config report failed: ${(e as Error).message}; trying again in ${(delay / 1000).toFixed(1)} s`);
        await sleep(this.d.clock, delay, this.d.signal);
        if (this.desired) return; // a newer version is waiting: its report supersedes this one
      }
    }
  }
}
