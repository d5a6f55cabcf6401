import type { Inventory } from '../../src/api/index.ts';
import { monoMs } from './clock.ts';
import { sampleHost } from './sample-host.ts';

/**
 * Creates `count` Hosts through the Inventory with `concurrency` writers at once (group commit
 * batches them), reporting progress on stderr. Answers creates per second.
 * @example await fillStore(inventory, 100_000, 256, 'fill')
 */
export async function fillStore(inventory: Inventory, count: number, concurrency: number, tag: string): Promise<number> {
  const t0 = monoMs();
  let next = 0;
  let done = 0;
  const progress = setInterval(() => process.stderr.write(`  … ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} resources\n`), 5000);
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) {
          await inventory.create('default', 'Host', sampleHost(`${tag}-${i}`));
          done++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  return count / ((monoMs() - t0) / 1000);
}
