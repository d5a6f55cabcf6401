import { type Inventory, isEimError, type Resource } from '../../api/index.ts';
import { done, type Result, retry } from '../../reconcile/index.ts';

/**
 * The second phase of a two-phase delete: the owning manager removes the row (and with it what the
 * resource owns). Gone already is done; still referenced is a retry saying what holds it.
 * @example return finishDelete(this.o.inventory, host, () => this.power.forget(host.id))
 */
export async function finishDelete(inventory: Inventory, r: Resource, onRemoved: () => void): Promise<Result> {
  try {
    await inventory.delete(r.project, r.kind, r.id);
  } catch (e) {
    if (isEimError(e) && e.code === 'not_found') return done();
    if (isEimError(e) && e.code === 'failed_precondition') return retry(new Error(`cannot remove the ${r.kind.toLowerCase()} yet: ${e.message}`));
    throw e;
  }
  onRemoved();
  return done();
}
