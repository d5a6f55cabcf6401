import type { Clock } from '../api/clock.ts';

export { type Clock, systemClock } from '../api/clock.ts';

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
