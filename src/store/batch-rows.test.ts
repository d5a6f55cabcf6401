import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { type Caller, EimError, isEimError, type Resource } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { DIALECTS, openTestStore, PG_URL, pgReachable, type TestStore } from '../testing/test-stores.ts';

// The writes of one commit (BatchRows: rows read together, plain updates written together): mixed
// writes sharing commits leave every row equal to its last event; a refusal leaves nothing behind;
// a failed flush fails the batch whoever met it; a deferred update never brings a removed row back.

const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const MANAGER: Caller = { subject: 'hostmgr', grants: [{ project: '*', role: 'manager' }] };
const P = 'default';

/** An Inventory on a fresh store of `dialect` with project P, for `fn`; skipped without PostgreSQL; closed after. */
async function withService(dialect: (typeof DIALECTS)[number], t: TestContext, fn: (svc: InventoryService, ts: TestStore) => Promise<void>, options?: Parameters<typeof openTestStore>[1]): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
  const ts = await openTestStore(dialect, options);
  const svc = new InventoryService(ts.store);
  try {
    await svc.start();
    await svc.ensureProject(P);
    await fn(svc, ts);
  } finally {
    await svc.stop();
    await ts.cleanup();
  }
}

let seed = 12345;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

for (const dialect of DIALECTS) {
  test(`${dialect}: fuzz: mixed writes sharing commits leave the DB equal to the event log`, async (t) => {
    await withService(dialect, t, async (svc, ts) => {
      const admin = svc.as(ADMIN);
      const mgr = svc.as(MANAGER);
      const regions: string[] = [];
      for (let i = 0; i < 4; i++) regions.push((await admin.create(P, 'Region', { name: `r${i}`, spec: {} })).id);
      const sites: string[] = [];
      for (let i = 0; i < 6; i++) sites.push((await admin.create(P, 'Site', { name: `s${i}`, spec: { regionId: regions[i % 4] } })).id);
      const hosts: string[] = [];
      for (let i = 0; i < 10; i++) hosts.push((await admin.create(P, 'Host', { name: `h${i}`, spec: { siteId: sites[i % 6] } })).id);
      const mark = await ts.store.currentRevision();
      for (let round = 0; round < 30; round++) {
        const ops: Promise<unknown>[] = [];
        for (let k = 0; k < 40; k++) {
          const pick = rnd(9);
          const h = hosts[rnd(hosts.length)];
          const s = sites[rnd(sites.length)];
          const r = regions[rnd(regions.length)];
          const swallow = (p: Promise<unknown>) => ops.push(p.catch((e) => { if (!isEimError(e)) throw e; }));
          if (pick === 0) swallow(mgr.updateStatus(P, 'Host', h, { inheritedLabels: { [`k${rnd(5)}`]: String(round * 100 + k) } }));
          else if (pick === 1) swallow(admin.update(P, 'Host', h, { labels: { l: String(k) } }));
          else if (pick === 2) swallow(admin.update(P, 'Site', s, { name: `s${rnd(8)}` }));
          else if (pick === 3) swallow(admin.update(P, 'Site', s, { spec: { regionId: r } }));
          else if (pick === 4) swallow(admin.update(P, 'Host', h, { spec: { siteId: s } }));
          else if (pick === 5) swallow(admin.delete(P, 'Host', h, { force: rnd(2) === 0 }));
          else if (pick === 6) swallow(admin.create(P, 'Host', { name: `h${rnd(30)}`, spec: { siteId: s } }).then((x) => hosts.push(x.id)));
          else if (pick === 7) swallow(admin.delete(P, 'Site', s, { force: true }));
          else swallow(admin.update(P, 'Region', r, { name: `r${rnd(6)}`, labels: { x: String(k) } }));
        }
        await Promise.all(ops);
      }
      // The DB must equal the latest event of every id.
      const last = new Map<string, { type: string; object: Resource }>();
      let prev = mark;
      for (let after = mark; ; ) {
        const evs = await ts.store.readEvents({ after, limit: 1000 });
        if (evs.length === 0) break;
        for (const e of evs) {
          assert.equal(e.revision, prev + 1, 'contiguous revisions');
          prev = e.revision;
          const ev = JSON.parse(e.json);
          last.set(e.id, { type: ev.type, object: ev.object });
        }
        after = evs[evs.length - 1].revision;
      }
      assert.equal(await ts.store.currentRevision(), prev);
      for (const [id, ev] of last) {
        const row = await ts.store.get(id);
        if (ev.type === 'DELETED') assert.equal(row, undefined, `${id} deleted but present (resurrected?)`);
        else assert.deepEqual(row, ev.object, `${id} differs from its last event`);
      }
    });
  });

  test(`${dialect}: a refused patch (payload_too_large) leaves the write-only secret as it was`, async (t) => {
    await withService(dialect, t, async (svc, ts) => {
      const admin = svc.as(ADMIN);
      const r = await admin.create(P, 'AlertReceiver', { name: 'ops', spec: { webhook: { url: 'https://hooks.example/x', hmacSecret: 'old-secret-0123456789' } } });
      await assert.rejects(
        admin.update(P, 'AlertReceiver', r.id, { labels: { a: 'x'.repeat(60), b: 'y'.repeat(60) }, spec: { webhook: { url: `https://hooks.example/${'z'.repeat(1400)}`, hmacSecret: 'new-secret-0123456789' } } }),
        (e) => isEimError(e) && e.code === 'payload_too_large',
      );
      const revealed = (await svc.revealSpec(MANAGER, P, 'AlertReceiver', r.id)) as any;
      assert.equal(revealed.webhook.hmacSecret, 'old-secret-0123456789', 'the refused write changed the secret');
    }, { maxResourceBytes: 1500 });
  });
}


// Contrived (no mutation in src/ does this today): a flush error surfacing inside a neighbour's
// read, mapped to an EimError by that neighbour, is taken as the neighbour's refusal; flush()
// cleared `pending` before its statement ran, and SQLite keeps the transaction open, so the batch
// commits with the first write acknowledged and logged but never stored.
test('sqlite: a flush error a neighbour turns into a refusal still fails the batch: nothing acknowledged is lost', async () => {
  const ts = await openTestStore('sqlite');
  const s = ts.store;
  try {
    const mk = (name: string) => s.write(async (tx) => (await tx.insertIfFree({ kind: 'Region', id: `region-${name}0000000000`.slice(0, 20), project: 'p', name, labels: {}, generation: 1, spec: {}, status: {} }, 'a')).resource!);
    const a = await mk('a');
    await mk('b');
    const w1 = s.write(async (tx) => tx.update({ ...(await tx.get(a.id))!, name: 'b', labels: { x: '1' } }, 'a', false));
    const w2 = s.write(async (tx) => { try { await tx.getByName('p', 'Region', 'zzz'); } catch { throw new EimError('conflict', 'mapped'); } });
    const r1 = await w1.then((v) => v, (e) => e);
    await w2.catch(() => {});
    const stored = await s.get(a.id);
    assert.ok(r1 instanceof Error || stored!.name === r1.name, `w1 acknowledged (revision ${r1.revision}, name ${r1.name}) but stored name is ${stored!.name}`);
  } finally {
    await ts.cleanup();
  }
});


// Store-API misuse (no caller in src/ does it): an update of a resource another write of the same
// batch removed. Before: UPDATE of 0 rows (row stays gone). Now: the upsert INSERTs it back.
for (const dialect of DIALECTS) {
  test(`${dialect}: an update after a delete in one batch does not bring the row back`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const s = ts.store;
    try {
      const x = (await s.write((tx) => tx.insertIfFree({ kind: 'Region', id: 'region-0123456789ab', project: 'p', name: 'x', labels: {}, generation: 1, spec: {}, status: {} }, 'a'))).resource!;
      const del = s.write((tx) => tx.remove(x, 'a'));
      const upd = s.write((tx) => tx.update({ ...x, labels: { late: '1' } }, 'a', false));
      await Promise.all([del, upd]);
      assert.equal(await s.get(x.id), undefined, 'resurrected');
    } finally {
      await ts.cleanup();
    }
  });
}

// A row read once in a batch (ahead, or by a get) is handed out again from there: every later read
// in the batch sees the batch's own writes of it (an update, a removal), never the row as read.
for (const dialect of DIALECTS) {
  test(`${dialect}: reads of one row in one batch, around the batch's own writes of it, see each write`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
    const ts = await openTestStore(dialect);
    const s = ts.store;
    try {
      const x = (await s.write((tx) => tx.insertIfFree({ kind: 'Region', id: 'region-0a1b2c3d', project: 'p', name: 'x', labels: {}, generation: 1, spec: {}, status: {} }, 'a'))).resource!;
      const seen = await s.write(async (tx) => {
        const first = await tx.get(x.id);
        const again = await tx.get(x.id);
        await tx.update({ ...first!, labels: { n: '1' } }, 'a', false);
        const afterUpdate = await tx.get(x.id);
        await tx.remove(afterUpdate!, 'a');
        const afterRemove = await tx.get(x.id);
        return [first?.labels, again?.labels, afterUpdate?.labels, afterRemove];
      }, { reads: [x.id] });
      assert.deepEqual(seen, [{}, {}, { n: '1' }, undefined]);
      // Two writes sharing a commit (the second reads what the first wrote).
      const y = (await s.write((tx) => tx.insertIfFree({ kind: 'Region', id: 'region-0a1b2c3e', project: 'p', name: 'y', labels: {}, generation: 1, spec: {}, status: {} }, 'a'))).resource!;
      const [, second] = await Promise.all([
        s.write(async (tx) => tx.update({ ...(await tx.get(y.id))!, labels: { by: 'first' } }, 'a', false), { reads: [y.id] }),
        s.write(async (tx) => (await tx.get(y.id))?.labels, { reads: [y.id] }),
      ]);
      assert.deepEqual(second, { by: 'first' });
      assert.deepEqual((await s.get(y.id))?.labels, { by: 'first' });
    } finally {
      await ts.cleanup();
    }
  });
}

for (const dialect of DIALECTS) {
  test(`${dialect}: host identities read ahead for a commit judge each create as if alone: taken before, taken earlier in the commit, freed by a delete in it`, async (t) => {
    await withService(dialect, t, async (svc, ts) => {
      const admin = svc.as(ADMIN);
      const u = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      await admin.create(P, 'Host', { name: 'a', spec: { uuid: u(1), serialNumber: 'SN-A' } });
      const b = await admin.create(P, 'Host', { name: 'b', spec: { uuid: u(2) } });
      const mark = await ts.store.currentRevision();
      // Submitted in one turn: one commit, in this order.
      const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (isEimError(e) ? e.code : String(e)));
      const results = await Promise.all([
        outcome(admin.create(P, 'Host', { name: 'x', spec: { uuid: u(1).toUpperCase() } })),
        outcome(admin.create(P, 'Host', { name: 'y', spec: { uuid: u(3) } })),
        outcome(admin.create(P, 'Host', { name: 'z', spec: { uuid: u(3) } })),
        outcome(admin.delete(P, 'Host', b.id, { force: true })),
        outcome(admin.create(P, 'Host', { name: 'w', spec: { uuid: u(2) } })),
        outcome(admin.create(P, 'Host', { name: 'v', spec: { uuid: u(4), serialNumber: 'SN-A' } })),
        outcome(admin.create(P, 'Host', { name: 'o', spec: { uuid: '00000000-0000-0000-0000-000000000000', serialNumber: 'To Be Filled By O.E.M.' } })),
        outcome(admin.create(P, 'Host', { name: 'o2', spec: { uuid: '00000000-0000-0000-0000-000000000000', serialNumber: 'To Be Filled By O.E.M.' } })),
      ]);
      assert.deepEqual(results, ['conflict', 'ok', 'conflict', 'ok', 'ok', 'conflict', 'ok', 'ok']);
      const events = await ts.store.readEvents({ after: mark, limit: 100 });
      assert.ok(new Set(events.map((e) => e.revision)).size === events.length && events.length === 5, 'four creates and a delete');
      const hosts = (await admin.list(P, 'Host', { pageSize: 100 })).items.map((h) => `${h.name} ${h.spec.uuid}`).sort();
      assert.deepEqual(hosts, [`a ${u(1)}`, 'o 00000000-0000-0000-0000-000000000000', 'o2 00000000-0000-0000-0000-000000000000', `w ${u(2)}`, `y ${u(3)}`]);
    });
  });
}

// Creates whose names a commit read ahead as free are inserted together at its end (PostgreSQL);
// each must still be judged as if it ran alone, around the other writes of its commit.
for (const dialect of DIALECTS) {
  test(`${dialect}: creates inserted together at the end of a commit are judged as if alone: a name taken in it, a rename onto it, a name freed by a delete, a reference to a region deleted in it`, async (t) => {
    await withService(dialect, t, async (svc, ts) => {
      const admin = svc.as(ADMIN);
      const a = await admin.create(P, 'Region', { name: 'a', spec: {} });
      const b = await admin.create(P, 'Region', { name: 'b', spec: {} });
      const c = await admin.create(P, 'Region', { name: 'c', spec: {} });
      const d = await admin.create(P, 'Region', { name: 'd', spec: {} });
      const mark = await ts.store.currentRevision();
      const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (isEimError(e) ? e.code : String(e)));
      // Submitted in one turn: one commit (updates and deletes reach the store before creates do,
      // so the pairs below are judged whichever goes first).
      const r = await Promise.all([
        outcome(admin.create(P, 'Region', { name: 'n1', spec: {} })),
        outcome(admin.create(P, 'Region', { name: 'n1', spec: {} })),
        outcome(admin.update(P, 'Region', a.id, { name: 'n2' })),
        outcome(admin.create(P, 'Region', { name: 'n2', spec: {} })),
        outcome(admin.create(P, 'Region', { name: 'n3', spec: {} })),
        outcome(admin.update(P, 'Region', b.id, { name: 'n3' })),
        outcome(admin.delete(P, 'Region', c.id)),
        outcome(admin.create(P, 'Region', { name: 'c', spec: {} })),
        outcome(admin.create(P, 'Site', { name: 's', spec: { regionId: d.id } })),
        outcome(admin.delete(P, 'Region', d.id)),
        outcome(admin.create(P, 'Host', { name: 'n1', spec: {} })),
      ]);
      const oneOf = (x: string, y: string, refusal: string) => assert.deepEqual([x, y].sort(), ['ok', refusal].sort(), `exactly one of ${x}, ${y}`);
      oneOf(r[0], r[1], 'conflict');
      oneOf(r[2], r[3], 'conflict');
      oneOf(r[4], r[5], 'conflict');
      assert.equal(r[6], 'ok');
      assert.ok(r[7] === 'ok' || r[7] === 'conflict');
      oneOf(r[8], r[9], 'failed_precondition');
      assert.equal(r[10], 'ok', 'a Host may share a Region\'s name');
      const events = await ts.store.readEvents({ after: mark, limit: 100 });
      assert.equal(events.length, r.filter((x) => x === 'ok').length, 'one event per write that succeeded');
      assert.ok(new Set(events.map((e) => JSON.parse(e.json).at)).size < events.length, 'several writes shared one commit');
      const regions = (await admin.list(P, 'Region', { pageSize: 100 })).items.map((x) => x.name).sort();
      assert.equal(new Set(regions).size, regions.length, 'names stay unique');
      assert.deepEqual(regions, ['n1', 'n2', 'n3', ...(r[5] === 'ok' ? [] : ['b']), ...(r[7] === 'ok' ? ['c'] : []), ...(r[8] === 'ok' ? ['d'] : [])].sort());
      if (r[8] === 'ok') {
        // The site's reference was stored with it: the region still cannot go.
        await assert.rejects(admin.delete(P, 'Region', d.id), (e) => isEimError(e) && e.code === 'failed_precondition');
      }
      for (const e of events) {
        const last = (await ts.store.readEvents({ after: mark, id: e.id, limit: 100 })).map((x) => JSON.parse(x.json)).at(-1);
        assert.deepEqual(await ts.store.get(e.id), last.type === 'DELETED' ? undefined : last.object, `${e.id} equals its last event`);
      }
    });
  });

  test(`${dialect}: a create inserted at the end of its commit, then updated and removed in the same commit; a taken id fails the shared insert and the writes are retried one by one`, async (t) => {
    await withService(dialect, t, async (_svc, ts) => {
      const s = ts.store;
      const region = (id: string, name: string) => ({ kind: 'Region', id: `region-${id}`, project: P, name, labels: {}, generation: 1, spec: {}, status: {} });
      const create = (id: string, name: string) => s.write(async (tx) => tx.insertIfFree(region(id, name), 'a'), { creates: [{ project: P, kind: 'Region', name }] });
      await create('0000aaaa', 'taken');
      const mark = await s.currentRevision();
      // One commit: a create, its update, another create and its removal, a create of the first's name.
      const [w1, w2, w3, w4, w5] = await Promise.all([
        create('00000001', 'k1'),
        s.write(async (tx) => tx.update({ ...(await tx.get('region-00000001'))!, labels: { x: '1' } }, 'a', false), { reads: ['region-00000001'] }),
        create('00000002', 'k2'),
        s.write(async (tx) => tx.remove((await tx.get('region-00000002'))!, 'a')),
        create('00000003', 'k1'),
      ]);
      assert.ok(w1.resource && w3.resource);
      assert.equal(w2.labels.x, '1');
      assert.equal(w4.id, 'region-00000002');
      assert.deepEqual(w5, { idTaken: false, nameOwner: 'region-00000001' });
      assert.deepEqual((await s.get('region-00000001'))?.labels, { x: '1' });
      assert.equal(await s.get('region-00000002'), undefined);
      const events = await s.readEvents({ after: mark, limit: 10 });
      assert.deepEqual(events.map((e) => `${e.type} ${e.id}`), ['CREATED region-00000001', 'UPDATED region-00000001', 'CREATED region-00000002', 'DELETED region-00000002']);

      // A site created in a commit refers to its region for the rest of it.
      const site = { kind: 'Site', id: 'site-00000001', project: P, name: 'site', labels: {}, generation: 1, spec: { regionId: 'region-00000001' }, status: {} };
      const [made, referrers] = await Promise.all([
        s.write(async (tx) => tx.insertIfFree(site, 'a'), { creates: [{ project: P, kind: 'Site', name: 'site' }] }),
        s.write(async (tx) => tx.referrers('region-00000001', 10)),
      ]);
      assert.ok(made.resource);
      assert.deepEqual(referrers, [{ id: 'site-00000001', owner: false }]);

      // A create under an id that exists (never read in the commit): the shared insert fails, and
      // each write is committed alone; the neighbour is not refused for it.
      const mark2 = await s.currentRevision();
      const [clash, fine] = await Promise.all([create('0000aaaa', 'other'), create('00000004', 'k4')]);
      assert.equal(clash.idTaken, true);
      assert.ok(fine.resource);
      assert.equal((await s.get('region-0000aaaa'))?.name, 'taken');
      assert.deepEqual((await s.readEvents({ after: mark2, limit: 10 })).map((e) => `${e.type} ${e.id}`), ['CREATED region-00000004']);
    });
  });
}
