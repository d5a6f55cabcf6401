export interface ReconnectBackoffOptions {
  /** The first delay. @default 1000 */
  minMs?: number;
  /** No delay is longer than this. @default 30000 */
  maxMs?: number;
  /** Randomness in [0, 1), injectable for deterministic tests. @default Math.random */
  random?: () => number;
}

/**
 * Delays between reconnect attempts: doubling from minMs to maxMs, each spread ±20 % so a fleet
 * that lost its server does not come back in lockstep.
 * @example const b = new ReconnectBackoff(); await sleep(clock, b.next()); b.reset() // after a good connection
 */
export class ReconnectBackoff {
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: ReconnectBackoffOptions = {}) {
    this.minMs = options.minMs ?? 1000;
    this.maxMs = options.maxMs ?? 30_000;
    this.random = options.random ?? Math.random;
    if (!(this.minMs > 0 && this.maxMs >= this.minMs)) throw new RangeError(`backoff: need 0 < minMs ≤ maxMs (got ${this.minMs}, ${this.maxMs})`);
  }

  /** The delay before the next attempt; each call doubles the base up to maxMs. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 40);
    return Math.round(Math.min(this.maxMs, base * (0.8 + 0.4 * this.random())));
  }

  /** Starts over at minMs (after a connection that worked). */
  reset(): void {
    this.attempt = 0;
  }
}
