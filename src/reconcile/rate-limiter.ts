import { Backoff, type BackoffOptions } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';

export interface RateLimitOptions {
  /** Overall retries per second, over all keys. @default 50 */
  qps?: number;
  /** How many retries may go at once before qps applies. @default 300 */
  burst?: number;
}

/**
 * When a failed key may be tried again: the larger of its own backoff and the delay an overall
 * token bucket imposes, so a fleet-wide outage cannot turn into a retry storm.
 * @example const rl = new RateLimiter({ clock }); queue.addAfter(key, rl.when(key)); rl.forget(key)
 */
export class RateLimiter<K = string> {
  readonly backoff: Backoff<K>;
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(options: RateLimitOptions & { backoff?: BackoffOptions; clock?: Clock } = {}) {
    this.qps = options.qps ?? 50;
    this.burst = options.burst ?? 300;
    if (!(this.qps > 0) || !(this.burst >= 1)) throw new RangeError(`rate limiter: need qps > 0 and burst ≥ 1 (got qps ${this.qps}, burst ${this.burst})`);
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff<K>(options.backoff);
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** The delay before the key's next try (counts an attempt and reserves a token). */
  when(key: K): number {
    return Math.max(this.backoff.next(key), this.reserve());
  }

  attempts(key: K): number {
    return this.backoff.attempts(key);
  }

  forget(key: K): void {
    this.backoff.forget(key);
  }

  /** Takes a token; when none is left the bucket goes negative and the wait is the time to refill it. */
  private reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }
}
