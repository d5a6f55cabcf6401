import { type Caller, EimError } from '../api/index.ts';

export interface RateLimitOptions {
  /** Requests per second per token for people (viewer, editor, admin); 0 turns limiting off. @default 1000 */
  rps?: number;
  /** Burst for people's tokens. @default 2 × rps */
  burst?: number;
  /** Requests per second per token for services (manager, agent, enrollment). @default 10 × rps */
  serviceRps?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per bearer token. A refused request gets `rate_limited` (429) with the seconds to
 * wait. Buckets of idle tokens are dropped when the map grows large.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rps: number;
  private readonly burst: number;
  private readonly serviceRps: number;
  private readonly now: () => number;

  constructor(options: RateLimitOptions = {}) {
    this.rps = options.rps ?? 1000;
    this.burst = options.burst ?? this.rps * 2;
    this.serviceRps = options.serviceRps ?? this.rps * 10;
    this.now = options.now ?? (() => performance.now());
  }

  /** Takes one request from the caller's bucket or throws `rate_limited`. */
  take(caller: Caller): void {
    if (this.rps <= 0) return;
    const service = caller.grants.every((g) => g.role === 'manager' || g.role === 'agent' || g.role === 'enrollment');
    const rate = service ? this.serviceRps : this.rps;
    const cap = service ? this.serviceRps * 2 : this.burst;
    const key = caller.tokenId ?? caller.subject;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 100_000) this.prune(now);
      b = { tokens: cap, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / rate));
    throw new EimError('rate_limited', `too many requests for this token (limit ${rate}/s); retry after ${wait} s`, { details: { retryAfterSeconds: wait } });
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
    if (this.buckets.size >= 100_000) this.buckets.clear();
  }
}
