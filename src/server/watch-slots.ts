import { EimError } from '../api/index.ts';
import { KeyedCounts } from './keyed-counts.ts';

export interface WatchSlotsOptions {
  /** Open streams one token may hold. @default 64 */
  perToken?: number;
  /** Open streams in this server process, all tokens together. @default 1000 */
  total?: number;
}

/**
 * Counts the open watch streams of this server process, per token and in all. A slot is taken
 * synchronously, before the request awaits anything, so concurrent opens cannot all pass the check;
 * the release it returns is idempotent, so every exit path may call it.
 * @example const release = slots.reserve(caller.tokenId ?? caller.subject); try { … } finally { release(); }
 */
export class WatchSlots {
  readonly perToken: number;
  readonly total: number;
  private readonly byKey = new KeyedCounts();
  private count = 0;

  constructor(options: WatchSlotsOptions = {}) {
    this.perToken = options.perToken ?? 64;
    this.total = options.total ?? 1000;
  }

  /** Streams open now. */
  get open(): number {
    return this.count;
  }

  /** Takes a slot for `key` (a token id); `rate_limited` when the token is full, `unavailable` when the server is. */
  reserve(key: string): () => void {
    if (this.byKey.held(key) >= this.perToken) {
      throw new EimError('rate_limited', `this token already holds ${this.perToken} open watch streams; close some (or use one stream with kinds=…)`, { details: { retryAfterSeconds: 5 } });
    }
    if (this.count >= this.total) {
      throw new EimError('unavailable', `this server already serves ${this.total} watch streams, its limit (--max-watch-streams); retry later, or on another server`, { details: { retryAfterSeconds: 5 } });
    }
    const leave = this.byKey.add(key);
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      leave();
    };
  }
}
