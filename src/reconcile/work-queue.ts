import type { BackoffOptions } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';
import { RateLimiter, type RateLimitOptions } from './rate-limiter.ts';
import { Fifo } from './fifo.ts';

export interface WorkQueueOptions {
  /** @default systemClock */
  clock?: Clock;
  /** Per-key backoff of addRateLimited (defaults: 1 s doubling to 60 s, ±20 %). */
  backoff?: BackoffOptions;
  /** Overall limit of addRateLimited (defaults: 50 qps, burst 300). */
  rateLimit?: RateLimitOptions;
}

/**
 * The work queue of Kubernetes' client-go, for keys: a key waiting is queued once however often it
 * is added; a key being processed and added again is queued only after `done(key)`, so no two
 * workers ever hold the same key. Delayed and rate-limited adds run on the injected clock.
 * @example const key = await queue.get(); if (key !== undefined) { try { await sync(key); queue.forget(key) } catch { queue.addRateLimited(key) } finally { queue.done(key) } }
 */
export class WorkQueue<K = string> {
  private readonly queue = new Fifo<K>();
  /** Keys that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  /** Delayed adds: the earliest one per key wins. */
  private readonly delayed = new Map<K, { at: number; handle: unknown }>();
  private readonly clock: Clock;
  private closed = false;
  readonly limiter: RateLimiter<K>;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new RateLimiter<K>({ ...options.rateLimit, backoff: options.backoff, clock: this.clock });
  }

  /** Queues the key unless it is already waiting; after shutDown, does nothing. */
  add(key: K): void {
    if (this.closed || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  /** Adds the key after `ms` (at once when ms ≤ 0); an earlier pending delayed add of the key wins. */
  addAfter(key: K, ms: number): void {
    if (this.closed) return;
    if (!(ms > 0)) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Adds the key when its backoff and the overall rate limit allow; counts an attempt. */
  addRateLimited(key: K): void {
    if (this.closed) return;
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears the key's backoff (after a success). A pending delayed add still happens. */
  forget(key: K): void {
    this.limiter.forget(key);
  }

  /** Failed attempts counted for the key since it was last forgotten. */
  attempts(key: K): number {
    return this.limiter.attempts(key);
  }

  /** The next key, once there is one; the caller holds it until `done(key)`. undefined after shutDown. */
  get(): Promise<K | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (this.queue.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing of a key; if it was added meanwhile it is queued again now. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.closed || !this.dirty.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  /** Stops the queue: waiting and later get() calls answer undefined, delayed adds are cancelled. */
  shutDown(): void {
    this.closed = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get shuttingDown(): boolean {
    return this.closed;
  }

  /** Keys ready to be handed out. */
  get len(): number {
    return this.queue.length;
  }

  /** Keys held by workers. */
  get inProgress(): number {
    return this.processing.size;
  }

  /** Keys waiting for a delayed add. */
  get waiting(): number {
    return this.delayed.size;
  }

  private take(): K {
    const key = this.queue.shift()!;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private handOut(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) this.waiters.shift()!(this.take());
  }
}
