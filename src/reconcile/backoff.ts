export interface BackoffOptions {
  /** The first delay. @default 1000 */
  baseMs?: number;
  /** No delay is longer than this. @default 60000 */
  maxMs?: number;
  /** Each failure multiplies the delay by this. @default 2 */
  factor?: number;
  /** Spread: a delay d becomes uniformly d·(1 − jitter) … d·(1 + jitter), never above maxMs. @default 0.2 */
  jitter?: number;
  /** Randomness in [0, 1), injectable for deterministic tests. @default Math.random */
  random?: () => number;
}

export type CompiledBackoffOptions = Readonly<Required<BackoffOptions>>;

/**
 * Fills the defaults of BackoffOptions, checks them and freezes the result.
 * @example compileBackoffOptions({ maxMs: 30_000 }).baseMs // 1000
 */
export function compileBackoffOptions(o: BackoffOptions = {}): CompiledBackoffOptions {
  const c = { baseMs: o.baseMs ?? 1000, maxMs: o.maxMs ?? 60_000, factor: o.factor ?? 2, jitter: o.jitter ?? 0.2, random: o.random ?? Math.random };
  if (!(c.baseMs > 0) || !(c.maxMs >= c.baseMs)) throw new RangeError(`backoff: need 0 < baseMs ≤ maxMs (got baseMs ${c.baseMs}, maxMs ${c.maxMs})`);
  if (!(c.factor >= 1)) throw new RangeError(`backoff: factor must be ≥ 1 (got ${c.factor})`);
  if (!(c.jitter >= 0 && c.jitter < 1)) throw new RangeError(`backoff: jitter must be in [0, 1) (got ${c.jitter})`);
  return Object.freeze(c);
}

/**
 * Per-key exponential backoff with jitter: the n-th consecutive failure of a key waits about
 * baseMs·factorⁿ⁻¹, capped at maxMs. `forget` starts the key over.
 * @example const b = new Backoff(); b.next('host-0a1b2c3d') // ≈1000; b.next('host-0a1b2c3d') // ≈2000; b.forget('host-0a1b2c3d')
 */
export class Backoff<K = string> {
  private readonly failures = new Map<K, number>();
  readonly options: CompiledBackoffOptions;

  constructor(options: BackoffOptions = {}) {
    this.options = compileBackoffOptions(options);
  }

  /** The delay before the key's next try; counts one more attempt. */
  next(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const { baseMs, maxMs, factor, jitter, random } = this.options;
    // Capping the exponent keeps factor**n finite for keys that fail for days.
    const d = Math.min(maxMs, baseMs * factor ** Math.min(n, 1024));
    return Math.min(maxMs, Math.round(d * (1 - jitter + 2 * jitter * random())));
  }

  /** Consecutive attempts counted for the key since it was last forgotten. */
  attempts(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many keys are backing off. */
  get size(): number {
    return this.failures.size;
  }
}
