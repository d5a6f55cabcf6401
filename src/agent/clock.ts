/**
 * Where the agent reads time and schedules timers, so tests can drive heartbeats and backoff by hand.
 * The same shape as the controller library's clock; the agent keeps its own (it may not import src/reconcile).
 * @example const t = systemClock.setTimeout(() => beat(), 10_000); systemClock.clearTimeout(t)
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Date.now and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Waits `ms` on `clock` (Infinity: until `signal` aborts); resolves early, never rejects, when
 * `signal` aborts, also when it aborted before the call.
 * @example await sleep(systemClock, 1000, stop.signal)
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = ms === Infinity ? undefined : clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
