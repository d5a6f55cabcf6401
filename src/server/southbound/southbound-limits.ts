import { EimError } from '../../api/index.ts';

/** A token bucket's refill rate (per second) and size. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/**
 * The southbound's bounds, per server process (several servers behind a balancer each apply them).
 * Every rate is a token bucket: `burst` calls at once, then `perSecond`. A call over its rate gets
 * 429 `rate_limited` with `Retry-After`.
 */
export interface SouthboundLimitOptions {
  /** Enrolments per enrollment token (each mints an agent token, and may register a host). @default { perSecond: 1000, burst: 2000 } */
  enroll?: Rate;
  /**
   * Enrolments this server runs at once, all tokens together; one more is refused at once (429,
   * `Retry-After` sized to the backlog) instead of queueing until the agent's request times out.
   * @default 256
   */
  enrollInFlight?: number;
  /** Heartbeats per host. @default { perSecond: 10, burst: 20 } */
  heartbeat?: Rate;
  /** Hardware reports per host. @default { perSecond: 0.2, burst: 5 } */
  hardware?: Rate;
  /** Token renewals per host (each mints an agent token). @default { perSecond: 1 / 60, burst: 5 } */
  renew?: Rate;
  /** Every other agent call (status, command results, stream opens) per host. @default { perSecond: 20, burst: 100 } */
  agent?: Rate;
  /** Open command streams per host; opening one more closes the oldest. @default 2 */
  streamsPerHost?: number;
  /** Seconds an agent token lives; the agent renews it before. @default 86400 */
  agentTokenTtlSeconds?: number;
}

export type SouthboundLimits = Readonly<Required<SouthboundLimitOptions>>;

/**
 * Fills the defaults of SouthboundLimitOptions and checks them.
 * @example compileSouthboundLimits({ heartbeat: { perSecond: 1, burst: 2 } }).streamsPerHost // 2
 */
export function compileSouthboundLimits(o: SouthboundLimitOptions = {}): SouthboundLimits {
  const c = {
    enroll: o.enroll ?? { perSecond: 1000, burst: 2000 },
    enrollInFlight: o.enrollInFlight ?? 256,
    heartbeat: o.heartbeat ?? { perSecond: 10, burst: 20 },
    hardware: o.hardware ?? { perSecond: 0.2, burst: 5 },
    renew: o.renew ?? { perSecond: 1 / 60, burst: 5 },
    agent: o.agent ?? { perSecond: 20, burst: 100 },
    streamsPerHost: o.streamsPerHost ?? 2,
    agentTokenTtlSeconds: o.agentTokenTtlSeconds ?? 86_400,
  };
  for (const k of ['enroll', 'heartbeat', 'hardware', 'renew', 'agent'] as const) {
    const r = c[k];
    if (!(r.perSecond > 0 && Number.isFinite(r.perSecond) && r.burst >= 1 && Number.isFinite(r.burst))) {
      throw new RangeError(`southbound limit ${k}: perSecond must be > 0 and burst ≥ 1 (got ${r.perSecond}/s, burst ${r.burst})`);
    }
  }
  if (!Number.isInteger(c.enrollInFlight) || c.enrollInFlight < 1) throw new RangeError(`enrollInFlight must be a whole number ≥ 1 (got ${c.enrollInFlight})`);
  if (!Number.isInteger(c.streamsPerHost) || c.streamsPerHost < 1) throw new RangeError(`streamsPerHost must be a whole number ≥ 1 (got ${c.streamsPerHost})`);
  if (!Number.isInteger(c.agentTokenTtlSeconds) || c.agentTokenTtlSeconds < 1) throw new RangeError(`agentTokenTtlSeconds must be a whole number ≥ 1 (got ${c.agentTokenTtlSeconds})`);
  return Object.freeze(c);
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Most keys one KeyedBuckets holds; past it, idle buckets (full again) are dropped. */
const MAX_KEYS = 200_000;
/**
 * Buckets idle this long, and full again, are dropped at most this often too: a host's buckets for
 * calls it makes once in a while (hardware reports, stream opens) do not stay for every host for
 * good. Its heartbeats (every 10 s) keep their bucket.
 */
const IDLE_MS = 60_000;

/**
 * Token buckets by key (a host id, a token id). `take` spends one or throws `rate_limited` with the
 * seconds until one is back. Memory is bounded: a bucket that has refilled is the same as none.
 * @example const b = new KeyedBuckets({ perSecond: 10, burst: 20 }, 'heartbeats per host'); b.take(hostId)
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private nextSweep = -Infinity;

  constructor(
    private readonly rate: Rate,
    /** Names the limit in the 429 message. */
    private readonly what: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(key: string): void {
    const now = this.now();
    if (now >= this.nextSweep) {
      if (this.nextSweep !== -Infinity) this.drop(now, Math.max(IDLE_MS, this.fullMs));
      this.nextSweep = now + IDLE_MS;
    }
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_KEYS) this.prune(now);
      b = { tokens: this.rate.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.rate.burst, b.tokens + ((now - b.at) / 1000) * this.rate.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.rate.perSecond));
    throw new EimError('rate_limited', `too many ${this.what} (limit ${formatRate(this.rate)}); retry after ${wait} s`, { details: { retryAfterSeconds: wait } });
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    this.drop(now, this.fullMs);
    if (this.buckets.size >= MAX_KEYS) this.buckets.clear();
  }

  /** How long an empty bucket takes to fill. */
  private get fullMs(): number {
    return (this.rate.burst / this.rate.perSecond) * 1000;
  }

  /** Drops the buckets untouched for `idleMs` (at least fullMs: they are full again, the same as none). */
  private drop(now: number, idleMs: number): void {
    for (const [k, b] of this.buckets) if (now - b.at >= idleMs) this.buckets.delete(k);
  }
}

function formatRate(r: Rate): string {
  const per = r.perSecond >= 1 ? `${+r.perSecond.toFixed(2)}/s` : `1 per ${+(1 / r.perSecond).toFixed(1)} s`;
  return `${per}, burst ${r.burst}`;
}
