/** What a bulk run did with each item. */
export interface BulkOutcome<T> {
  changed: T[];
  unchanged: T[];
  failed: { item: T; error: unknown }[];
}

/**
 * Runs `work` over `items` with at most `concurrency` at a time, collecting what changed, what
 * was already right and what failed (a failure never stops the others). `onSettled` hears each
 * item's end (a progress bar).
 * @example const outcome = await runBounded(hosts, 8, (h) => onboard(h), () => bar.tick())
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<'changed' | 'unchanged'>,
  onSettled?: () => void,
): Promise<BulkOutcome<T>> {
  const outcome: BulkOutcome<T> = { changed: [], unchanged: [], failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        outcome[await work(item)].push(item);
      } catch (error) {
        outcome.failed.push({ item, error });
      }
      onSettled?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return outcome;
}
