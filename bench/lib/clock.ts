/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime), which on Linux is one clock for the whole
 * machine: a time taken in a child process can be subtracted from one taken here.
 * @example const t0 = monoMs(); … const elapsed = monoMs() - t0
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
