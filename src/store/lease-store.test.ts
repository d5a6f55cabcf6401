import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import type { KyselyStore } from './kysely-store.ts';

// The lease table, the same on SQLite and PostgreSQL: a flush is one upsert that never moves a
// host's lease back in time (two servers flushing one host keep the newer heartbeat), expiry is a
// range read, missing leases are added without touching existing ones, deleted hosts go.

async function withStore(t: TestContext, dialect: Dialect, body: (store: KyselyStore) => Promise<void>): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}: these PostgreSQL checks did NOT run`);
  const ts = await openTestStore(dialect);
  try {
    await body(ts.store);
  } finally {
    await ts.cleanup();
  }
}

const lease = (n: number, lastSeen: number, intervalMs = 10_000) => ({ hostId: `host-${String(n).padStart(8, '0')}`, project: 'p', lastSeen, intervalMs, expiresAt: lastSeen + 3 * intervalMs + 2000 });

for (const dialect of DIALECTS) {
  test(`${dialect}: renewals upsert in one statement and keep the newer heartbeat of a host two servers flush`, (t) =>
    withStore(t, dialect, async (store) => {
      const l = store.leases;
      await l.renew('srv-a', Array.from({ length: 7000 }, (_, i) => lease(i, 1000)));
      assert.equal((await l.all()).length, 7000);
      await l.renew('srv-b', [lease(1, 5000)]);
      await l.renew('srv-a', [lease(1, 3000), lease(2, 4000)]); // srv-a's older view of host 1 loses
      const [h1, h2] = await l.get([lease(1, 0).hostId, lease(2, 0).hostId, 'host-ffffffff']).then((r) => r.sort((a, b) => a.hostId.localeCompare(b.hostId)));
      assert.deepEqual([h1.serverId, h1.lastSeen, h1.expiresAt], ['srv-b', 5000, 5000 + 32_000]);
      assert.deepEqual([h2.serverId, h2.lastSeen], ['srv-a', 4000]);
      // A hostile-looking id is a parameter like any other.
      await l.renew('srv-a', [{ ...lease(9, 1), hostId: `x'); drop table eim_leases; --` }]);
      assert.equal((await l.get([`x'); drop table eim_leases; --`])).length, 1);
    }));

  test(`${dialect}: expiring reads a range; addMissing keeps existing leases; remove forgets hosts`, (t) =>
    withStore(t, dialect, async (store) => {
      const l = store.leases;
      await l.renew('srv-a', [lease(1, 0), lease(2, 10_000), lease(3, 20_000)]); // expire at 32 s, 42 s, 52 s
      assert.deepEqual((await l.expiring(30_000, 45_000)).map((r) => r.hostId).sort(), [lease(1, 0).hostId, lease(2, 0).hostId]);
      assert.deepEqual((await l.expiring(32_000, 45_000)).map((r) => r.hostId), [lease(2, 0).hostId]);
      await l.addMissing('judge', [lease(1, 99_000), lease(4, 99_000)]);
      const rows = new Map((await l.all()).map((r) => [r.hostId, r]));
      assert.equal(rows.get(lease(1, 0).hostId)?.lastSeen, 0, 'an existing lease is left alone');
      assert.equal(rows.get(lease(4, 0).hostId)?.serverId, 'judge');
      await l.remove([lease(1, 0).hostId, lease(4, 0).hostId]);
      assert.deepEqual((await l.all()).map((r) => r.hostId).sort(), [lease(2, 0).hostId, lease(3, 0).hostId]);
    }));
}
