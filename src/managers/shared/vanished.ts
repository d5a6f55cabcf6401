import { type Inventory, isEimError, type Resource } from '../../api/index.ts';

/**
 * Whether the resource is gone from the store. A reconcile that fails because its resource was
 * removed meanwhile (a forced delete, a cascade from its host) has nothing left to do: the DELETED
 * event brings the reconcile that cleans up, so the failure is no retry and no error to report.
 * @example catch (e) { if (await vanished(inventory, host)) return done(); throw e }
 */
export async function vanished(inventory: Inventory, r: Resource): Promise<boolean> {
  try {
    await inventory.get(r.project, r.kind, r.id);
    return false;
  } catch (e) {
    if (isEimError(e) && e.code === 'not_found') return true;
    throw e;
  }
}
