/**
 * Runs fn(0) … fn(n − 1) with at most `concurrency` at once; their results in order.
 * @example const ids = await inParallel(10_000, 256, async (i) => (await inv.create('default', 'Host', host(i))).id)
 */
export async function inParallel<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}
