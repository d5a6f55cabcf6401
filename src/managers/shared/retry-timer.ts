import { Backoff, type BackoffOptions, type Clock } from '../../reconcile/index.ts';

/**
 * Per-resource backoff for commands that an agent answered with a recoverable failure.
 *
 * Why not the controller's `retry()`: the attempt after a failure creates a new Command and
 * returns `done()`, which forgets the controller's backoff, so every failure would wait the first
 * delay again. This keeps counting across those attempts and forgets only on success, on a spec
 * change (a new generation) or when told to.
 * @example const t = new RetryTimer(clock, { baseMs: 1000 }); const { attempt, delayMs } = t.failed(id, gen); return requeueAfter(delayMs)
 */
export class RetryTimer {
  private readonly backoff: Backoff;
  private readonly state = new Map<string, { generation: number; notBefore: number }>();

  constructor(
    private readonly clock: Clock,
    options?: BackoffOptions,
  ) {
    this.backoff = new Backoff(options);
  }

  /** Counts a failed attempt at this generation; returns its number and how long to wait. */
  failed(key: string, generation: number): { attempt: number; delayMs: number } {
    this.sync(key, generation);
    const delayMs = this.backoff.next(key);
    this.state.set(key, { generation, notBefore: this.clock.now() + delayMs });
    return { attempt: this.backoff.attempts(key), delayMs };
  }

  /** Milliseconds before the next attempt may start (0: now); a new generation starts over. */
  waitMs(key: string, generation: number): number {
    this.sync(key, generation);
    const s = this.state.get(key);
    return s ? Math.max(0, s.notBefore - this.clock.now()) : 0;
  }

  forget(key: string): void {
    this.backoff.forget(key);
    this.state.delete(key);
  }

  /** Resources backing off. */
  get size(): number {
    return this.state.size;
  }

  private sync(key: string, generation: number): void {
    const s = this.state.get(key);
    if (s && s.generation !== generation) this.forget(key);
  }
}
