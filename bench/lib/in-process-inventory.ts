import type { Caller, Inventory } from '../../src/api/index.ts';
import { InventoryService } from '../../src/inventory/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { StoreTarget } from './store-target.ts';

/** The caller of every in-process benchmark write. */
export const BENCH_ADMIN: Caller = { subject: 'bench', grants: [{ project: '*', role: 'admin' }] };

/**
 * Opens the target's store in this process and runs `fn` with the Inventory as a cluster admin;
 * closes it after, also on failure.
 * @example await withInventory(target, (inv) => inv.create('default', 'Host', sampleHost('a')))
 */
export async function withInventory<T>(target: StoreTarget, fn: (inventory: Inventory) => Promise<T>): Promise<T> {
  const store = await openStore({ url: target.store, dataDir: target.dataDir });
  const service = new InventoryService(store);
  try {
    await service.start();
    await service.ensureProject('default');
    return await fn(service.as(BENCH_ADMIN));
  } finally {
    await service.stop();
    await store.close();
  }
}
