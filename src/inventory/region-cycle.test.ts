import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Caller, isEimError } from '../api/index.ts';
import { DIALECTS, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { InventoryService } from './inventory-service.ts';

// Issue 9 item 14: a region is never its own ancestor, whoever re-parents it and however many at once.

const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const P = 'default';

const refusedAsCycle = (e: unknown) => {
  assert.ok(isEimError(e), String(e));
  assert.equal(e.code, 'failed_precondition', e.message);
  assert.match(e.message, /would be its own ancestor/);
  return true;
};

for (const dialect of DIALECTS) {
  test(`${dialect}: a parent that would make a cycle is refused with failed_precondition on every re-parenting; concurrent re-parentings cannot make one either`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const a = new InventoryService(ts.store);
    // A second server on the same database (PostgreSQL), or a second writer in the same process (SQLite).
    const b = new InventoryService(dialect === 'postgres' ? await ts.reopen() : ts.store);
    t.after(async () => {
      await a.stop();
      await b.stop();
      await ts.cleanup();
    });
    await a.start();
    await b.start();
    await a.ensureProject(P);
    const inv = a.as(ADMIN);
    const r1 = await inv.create(P, 'Region', { name: 'r1', spec: {} });
    const r2 = await inv.create(P, 'Region', { name: 'r2', spec: { parentRegionId: r1.id } });
    const r3 = await inv.create(P, 'Region', { name: 'r3', spec: { parentRegionId: r2.id } });

    await assert.rejects(inv.update(P, 'Region', r1.id, { spec: { parentRegionId: r1.id } }), refusedAsCycle, 'R → R');
    await assert.rejects(inv.update(P, 'Region', r1.id, { spec: { parentRegionId: r2.id } }), refusedAsCycle, 'R1 → R2 → R1');
    await assert.rejects(inv.update(P, 'Region', r1.id, { spec: { parentRegionId: r3.id } }), (e: unknown) => {
      refusedAsCycle(e);
      assert.deepEqual((e as { details: { cycle: string[] } }).details.cycle, [r1.id, r3.id, r2.id, r1.id]);
      return true;
    });
    // A move that keeps the tree a tree is fine, and so is a label change on a region in a chain.
    const moved = await inv.update(P, 'Region', r3.id, { spec: { parentRegionId: r1.id } });
    assert.equal(moved.spec.parentRegionId, r1.id);
    await inv.update(P, 'Region', r2.id, { labels: { tier: 'x' } });

    // Two re-parentings that would each be fine alone, at once, through two services on one store.
    for (let round = 0; round < 5; round++) {
      const x = await inv.create(P, 'Region', { name: `x${round}`, spec: {} });
      const y = await inv.create(P, 'Region', { name: `y${round}`, spec: {} });
      const results = await Promise.allSettled([
        a.as(ADMIN).update(P, 'Region', x.id, { spec: { parentRegionId: y.id } }),
        b.as(ADMIN).update(P, 'Region', y.id, { spec: { parentRegionId: x.id } }),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 1, `round ${round}: exactly one of the two re-parentings wins (${results.map((r) => r.status)})`);
      for (const r of results) if (r.status === 'rejected') refusedAsCycle(r.reason);
      const [xs, ys] = [await inv.get(P, 'Region', x.id), await inv.get(P, 'Region', y.id)];
      assert.ok(!(xs.spec.parentRegionId === y.id && ys.spec.parentRegionId === x.id), 'no cycle was stored');
    }
  });
}
