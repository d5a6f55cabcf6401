import type { Caller, Inventory } from '../../api/index.ts';
import { InventoryService } from '../../inventory/index.ts';
import { type Dialect, openTestStore, pgReachable } from '../../testing/test-stores.ts';
import { type Managers, type StartManagersOptions, startManagers } from '../start-managers.ts';

const MANAGER: Caller = { subject: 'manager', grants: [{ project: '*', role: 'manager' }] };
const ADMIN: Caller = { subject: 'alice', grants: [{ project: '*', role: 'admin' }] };

/** The in-process Inventory on a store of either dialect, with the managers running (no southbound). */
export interface DialectHarness {
  svc: InventoryService;
  /** An admin user. */
  user: Inventory;
  managers: Managers;
  close(): Promise<void>;
}

/**
 * Opens a fresh store of `dialect`, project `default`, and the managers over it; undefined when
 * the dialect is PostgreSQL and no server answers (the caller skips, saying so).
 * @example const h = await openDialectHarness('postgres'); if (!h) return t.skip('PostgreSQL not reachable'); … await h.close()
 */
export async function openDialectHarness(dialect: Dialect, options: StartManagersOptions = {}): Promise<DialectHarness | undefined> {
  if (dialect === 'postgres' && !(await pgReachable())) return undefined;
  const ts = await openTestStore(dialect);
  const svc = new InventoryService(ts.store);
  await svc.start();
  await svc.ensureProject('default');
  const managers = await startManagers(svc.as(MANAGER), { backoff: { baseMs: 50, maxMs: 2000 }, ...options });
  await managers.synced;
  return {
    svc,
    user: svc.as(ADMIN),
    managers,
    async close() {
      await managers.stop();
      await svc.stop();
      await ts.cleanup();
    },
  };
}
