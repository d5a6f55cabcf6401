/** What `until` passes back: the condition's answer, without the falsy cases it waited through. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** How long `until` waits and how often it asks. */
export interface UntilOptions {
  /**
   * Fail after this long.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Pause between two calls of the condition.
   * @default 5
   */
  intervalMs?: number;
}

/**
 * Calls `cond` (sync or async) until it answers something truthy, and returns that answer; throws
 * naming `what` once `timeoutMs` has passed. Polls in real time (a fake clock does not advance it).
 * @example await until(() => controller.stats().done === 1, 'done')
 * @example const inst = await until(async () => (await list()).find((i) => i.hostId === id), 'its instance', { timeoutMs: 30_000, intervalMs: 100 })
 */
export async function until<T>(cond: () => T | Promise<T>, what: string, options: UntilOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 10_000, intervalMs = 5 } = options;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Truthy<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
