/**
 * Where code reads time and schedules timers, so tests can drive time by hand (a fake clock for
 * backoff, leases and schedules). Shared by the controller library and the agent.
 * @example const t = systemClock.setTimeout(() => tick(), 1000); systemClock.clearTimeout(t)
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: Date.now and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
