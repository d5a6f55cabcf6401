import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Caller } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { DIALECTS, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';

// Several servers on one PostgreSQL database: one runs the managers (it holds the managers lock).
// When another takes the lock over, the managers of the old holder may still write for a moment
// (it is frozen, or has not noticed yet); their writes carry the epoch they started under and are
// refused once the new holder has moved it on.
const MANAGERS: Caller = { subject: 'managers', grants: [{ project: '*', role: 'manager' }] };
const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
/** A power command, as the host manager creates them. */
const command = (name: string, hostId: string) => ({ name, spec: { hostId, type: 'power', params: { state: 'off' }, ownerId: hostId } });

for (const dialect of DIALECTS) {
  test(`${dialect}: writes fenced with a leader epoch older than the store's are refused (PostgreSQL), the others and their batch neighbours commit`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const service = new InventoryService(ts.store);
    try {
      await service.start();
      await service.ensureProject('acme');
      const kept = await service.as(ADMIN).create('acme', 'Host', { name: 'h1', spec: { serialNumber: 'SN-1', desiredState: 'onboarded' } });
      const e1 = await ts.store.takeLeaderEpoch();
      const old = service.as({ ...MANAGERS, fence: e1 });
      const cmd = await old.create('acme', 'Command', command('made-by-the-old-holder', kept.id));
      await old.updateStatus('acme', 'Host', kept.id, { currentPowerState: 'on' });
      const before = await old.get('acme', 'Host', kept.id);
      const e2 = await ts.store.takeLeaderEpoch();
      assert.equal(e2, e1 + 1);
      const current = service.as({ ...MANAGERS, fence: e2 });
      const unfenced = service.as(MANAGERS);

      if (dialect === 'sqlite') {
        // One process per file: it is always the holder, and nothing is refused.
        await old.updateStatus('acme', 'Host', kept.id, { currentPowerState: 'off' });
        await old.create('acme', 'Command', command('late', kept.id));
        return;
      }
      const refused = { code: 'unavailable', message: /no longer runs the managers/ };
      await assert.rejects(old.create('acme', 'Command', command('late', kept.id)), refused);
      await assert.rejects(old.updateStatus('acme', 'Host', kept.id, { currentPowerState: 'off' }), refused);
      await assert.rejects(old.updateStatus('acme', 'Command', cmd.id, { state: 'succeeded' }), refused);
      await assert.rejects(old.delete('acme', 'Command', cmd.id), refused);
      assert.equal((await current.get('acme', 'Host', kept.id)).revision, before.revision, 'nothing the old holder tried was written');
      assert.equal((await current.get('acme', 'Command', cmd.id)).revision, cmd.revision);
      assert.deepEqual((await current.list('acme', 'Command', { filter: 'name = "late"' })).items, []);

      // In one group commit: the stale write is refused alone.
      const [a, b, c] = await Promise.allSettled([old.create('acme', 'Command', command('stale-1', kept.id)), current.create('acme', 'Command', command('fresh-1', kept.id)), unfenced.create('acme', 'Command', command('plain-1', kept.id))]);
      assert.equal(a.status, 'rejected');
      assert.equal(b.status, 'fulfilled');
      assert.equal(c.status, 'fulfilled');
      assert.deepEqual((await current.list('acme', 'Command', { filter: 'name = "stale-1" OR name = "fresh-1" OR name = "plain-1"', orderBy: 'name' })).items.map((x) => x.name), ['fresh-1', 'plain-1']);
      await current.updateStatus('acme', 'Host', kept.id, { currentPowerState: 'off' });
    } finally {
      await service.stop();
      await ts.cleanup();
    }
  });
}
