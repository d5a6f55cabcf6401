import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import {
  type Caller, type ErrorCode, HOST_TRANSITIONS, INSTANCE_TRANSITIONS, type Inventory, type InventoryEvent, isEimError, type Resource,
  transitionAllowed,
} from '../api/index.ts';
import { InventoryService, type InventoryServiceOptions } from '../inventory/index.ts';
import { DIALECTS, type Dialect, interceptPgQueries, openTestStore, PG_URL, pgReachable, type TestStore } from '../testing/test-stores.ts';
import type { KyselyStore } from './kysely-store.ts';

const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const MANAGER: Caller = { subject: 'hostmgr', grants: [{ project: '*', role: 'manager' }] };
const P = 'default';
const OS_SPEC = {
  imageUrl: 'https://images.example.com/ubuntu-22.04.img', sha256: 'ab'.repeat(32), profileName: 'ubuntu',
  profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64',
};

interface Ctx {
  ts: TestStore;
  store: KyselyStore;
  svc: InventoryService;
  admin: Inventory;
  mgr: Inventory;
}

/** A fresh store of the dialect behind a started InventoryService; skips when PostgreSQL is absent. */
async function withInventory(t: TestContext, dialect: Dialect, body: (c: Ctx) => Promise<void>, options: InventoryServiceOptions = {}): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) {
    return void t.skip(`PostgreSQL not reachable at ${PG_URL}; set EIM_TEST_PG_URL — these PostgreSQL checks did NOT run`);
  }
  const ts = await openTestStore(dialect);
  const svc = new InventoryService(ts.store, options);
  try {
    await svc.start();
    await svc.ensureProject(P);
    await body({ ts, store: ts.store, svc, admin: svc.as(ADMIN), mgr: svc.as(MANAGER) });
  } finally {
    await svc.stop();
    await ts.cleanup();
  }
}

/** Asserts that `p` rejects with an EimError of `code` whose message matches `message`. */
async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isEimError(e), `expected an EimError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

async function eventsAfter(store: KyselyStore, after: number, filter: { project?: string; kinds?: string[]; id?: string } = {}): Promise<InventoryEvent[]> {
  return (await store.readEvents({ after, limit: 1000, ...filter })).map((e) => JSON.parse(e.json) as InventoryEvent);
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const triple = (message: string) => ({ message, indicator: 'idle', timestamp: '2026-11-26T10:00:00.000Z' });

for (const dialect of DIALECTS) {
  test(`${dialect}: revision +1 per changed resource; generation only on spec, name and labels`, (t) =>
    withInventory(t, dialect, async ({ store, admin, mgr }) => {
      const region = await admin.create(P, 'Region', { name: 'eu', spec: {} });
      assert.equal(region.revision, 1);
      assert.equal(region.generation, 1);
      const site = await admin.create(P, 'Site', { name: 's1', spec: { regionId: region.id } });
      assert.deepEqual([site.revision, site.generation], [2, 1]);

      const labelled = await admin.update(P, 'Site', site.id, { labels: { line: '3' } });
      assert.deepEqual([labelled.revision, labelled.generation], [3, 2]);
      const addressed = await admin.update(P, 'Site', site.id, { spec: { address: 'Main St 1' } });
      assert.deepEqual([addressed.revision, addressed.generation], [4, 3]);
      assert.equal(addressed.spec.regionId, region.id, 'a merge patch keeps the other spec fields');
      const renamed = await admin.update(P, 'Site', site.id, { name: 's1-renamed' });
      assert.deepEqual([renamed.revision, renamed.generation], [5, 4]);
      assert.equal(renamed.createdAt, site.createdAt);

      // No-op patches: nothing written, no revision taken, no event.
      for (const patch of [{ labels: { line: '3' } }, { spec: { address: 'Main St 1' } }, { name: 's1-renamed' }, {}]) {
        const same = await admin.update(P, 'Site', site.id, patch);
        assert.deepEqual(same, renamed, `no-op patch ${JSON.stringify(patch)}`);
      }
      assert.equal(await store.currentRevision(), 5);

      const unlabelled = await admin.update(P, 'Site', site.id, { labels: { line: null } });
      assert.deepEqual([unlabelled.revision, unlabelled.generation, unlabelled.labels], [6, 5, {}]);

      const host = await admin.create(P, 'Host', { name: 'edge-01', spec: {} });
      assert.deepEqual([host.revision, host.generation, host.spec.desiredState], [7, 1, 'registered']);
      const s1 = await mgr.updateStatus(P, 'Host', host.id, { currentState: 'registered', hostStatus: triple('running'), observedGeneration: 1 });
      assert.deepEqual([s1.revision, s1.generation], [8, 1], 'a status write takes a revision and keeps the generation');
      const again = await mgr.updateStatus(P, 'Host', host.id, { currentState: 'registered', hostStatus: triple('running') });
      assert.equal(again.revision, 8, 'an unchanged status writes nothing');
      const s2 = await mgr.updateStatus(P, 'Host', host.id, { hostStatus: { message: 'degraded' } });
      assert.deepEqual([s2.revision, s2.generation], [9, 1]);
      assert.deepEqual(s2.status.hostStatus, { ...triple('running'), message: 'degraded' }, 'status writes are merge patches');
      assert.equal(s2.status.observedGeneration, 1);
      assert.equal(await store.currentRevision(), 9);

      const events = await eventsAfter(store, 0);
      assert.deepEqual(events.map((e) => e.revision), range(1, 9), 'one event per change, revisions contiguous');
      for (const id of [region.id, site.id, host.id]) {
        const current = await store.get(id);
        const last = events.filter((e) => e.id === id).at(-1)!;
        assert.equal(current!.revision, last.revision, `${id}: revision is its last event's`);
        assert.deepEqual(last.object, current, `${id}: the last event carries the stored state`);
      }
    }));

  test(`${dialect}: ifMatch and unique names are refused with conflict`, (t) =>
    withInventory(t, dialect, async ({ svc, store, admin, mgr }) => {
      const a = await admin.create(P, 'Region', { name: 'a', spec: {} });
      const a2 = await admin.update(P, 'Region', a.id, { labels: { x: '1' } }, { ifMatch: a.revision });
      assert.equal(a2.labels.x, '1');
      await rejectsWith(admin.update(P, 'Region', a.id, { labels: { x: '2' } }, { ifMatch: a.revision }), 'conflict', new RegExp(`since revision ${a.revision}`));
      await rejectsWith(admin.delete(P, 'Region', a.id, { ifMatch: a.revision }), 'conflict');
      const host = await admin.create(P, 'Host', { name: 'h', spec: {} });
      const st = await mgr.updateStatus(P, 'Host', host.id, { currentState: 'registered' }, { ifMatch: host.revision });
      await rejectsWith(mgr.updateStatus(P, 'Host', host.id, { currentState: 'onboarded' }, { ifMatch: host.revision }), 'conflict');
      assert.deepEqual(await store.get(a.id), a2, 'a refused write changes nothing');
      assert.deepEqual(await store.get(host.id), st);

      await rejectsWith(admin.create(P, 'Region', { name: 'a', spec: {} }), 'conflict', /already exists/);
      const b = await admin.create(P, 'Region', { name: 'b', spec: {} });
      await rejectsWith(admin.update(P, 'Region', b.id, { name: 'a' }), 'conflict', /already exists/);
      const revision = await store.currentRevision();
      assert.equal((await eventsAfter(store, 0)).length, revision, 'refusals consumed no revision');

      const site = await admin.create(P, 'Site', { name: 'a', spec: { regionId: a.id } });
      assert.equal(site.name, 'a', 'the same name in another kind is fine');
      await svc.ensureProject('other');
      const other = await admin.create('other', 'Region', { name: 'a', spec: {} });
      assert.equal(other.project, 'other', 'the same name in another project is fine');
      assert.notEqual(other.id, a.id);
    }));

  test(`${dialect}: references must exist, and referenced resources cannot be deleted`, (t) =>
    withInventory(t, dialect, async ({ svc, store, admin }) => {
      await rejectsWith(admin.create(P, 'Site', { name: 's', spec: { regionId: 'region-00000000' } }), 'failed_precondition', /spec\.regionId/);
      await svc.ensureProject('other');
      const foreign = await admin.create('other', 'Region', { name: 'r', spec: {} });
      await rejectsWith(admin.create(P, 'Site', { name: 's', spec: { regionId: foreign.id } }), 'failed_precondition', /does not exist in project "default"/);

      const parent = await admin.create(P, 'Region', { name: 'parent', spec: {} });
      const region = await admin.create(P, 'Region', { name: 'r', spec: { parentRegionId: parent.id } });
      const site = await admin.create(P, 'Site', { name: 's', spec: { regionId: region.id } });
      await rejectsWith(admin.update(P, 'Site', site.id, { spec: { regionId: 'region-00000000' } }), 'failed_precondition', /spec\.regionId/);
      assert.deepEqual(await store.get(site.id), site);

      await rejectsWith(admin.delete(P, 'Region', region.id), 'failed_precondition', new RegExp(`still referenced by Site ${site.id}`));
      await rejectsWith(admin.delete(P, 'Region', parent.id), 'failed_precondition', new RegExp(region.id));
      assert.ok(await store.get(region.id));
      assert.equal((await admin.delete(P, 'Site', site.id)).removed, true);
      assert.equal((await admin.delete(P, 'Region', region.id)).removed, true);
      assert.equal((await admin.delete(P, 'Region', parent.id)).removed, true);

      const host = await admin.create(P, 'Host', { name: 'h', spec: {} });
      const os = await admin.create(P, 'OperatingSystem', { name: 'ubuntu', spec: OS_SPEC });
      await rejectsWith(admin.create(P, 'Instance', { name: 'i', spec: { hostId: 'host-00000000', osId: os.id } }), 'failed_precondition', /spec\.hostId/);
      await rejectsWith(admin.create(P, 'Instance', { name: 'i', spec: { hostId: host.id, osId: 'os-00000000' } }), 'failed_precondition', /spec\.osId/);
      const inst = await admin.create(P, 'Instance', { name: 'i', spec: { hostId: host.id, osId: os.id } });
      assert.equal(inst.spec.desiredState, 'running');
      await rejectsWith(admin.delete(P, 'OperatingSystem', os.id), 'failed_precondition', new RegExp(inst.id));
    }));

  test(`${dialect}: hosts and instances delete in two phases; force and managers remove, children first`, (t) =>
    withInventory(t, dialect, async ({ store, admin, mgr }) => {
      const host = await admin.create(P, 'Host', { name: 'h', spec: {} });
      const os = await admin.create(P, 'OperatingSystem', { name: 'ubuntu', spec: OS_SPEC });
      const inst = await admin.create(P, 'Instance', { name: 'i', spec: { hostId: host.id, osId: os.id } });
      const nic = await mgr.create(P, 'HostNic', { name: 'eth0', status: { hostId: host.id, deviceName: 'eth0' } });

      let mark = await store.currentRevision();
      const first = await admin.delete(P, 'Host', host.id);
      assert.equal(first.removed, false);
      assert.equal(first.resource.spec.desiredState, 'deleted');
      assert.equal(first.resource.generation, host.generation + 1);
      let events = await eventsAfter(store, mark);
      assert.deepEqual(events.map((e) => [e.type, e.id, e.revision]), [['UPDATED', host.id, mark + 1]]);
      assert.deepEqual((await admin.delete(P, 'Host', host.id)).resource, first.resource, 'deleting again changes nothing');
      assert.equal(await store.currentRevision(), mark + 1);
      assert.deepEqual(await admin.get(P, 'Host', host.id), first.resource, 'the row stays until a manager removes it');

      const instMark = await admin.delete(P, 'Instance', inst.id);
      assert.deepEqual([instMark.removed, instMark.resource.spec.desiredState], [false, 'deleted']);

      mark = await store.currentRevision();
      const forced = await admin.delete(P, 'Host', host.id, { force: true });
      assert.equal(forced.removed, true);
      assert.equal(forced.resource.id, host.id);
      events = await eventsAfter(store, mark);
      assert.deepEqual(events.map((e) => e.revision), range(mark + 1, mark + 3), 'one revision per removed resource');
      assert.ok(events.every((e) => e.type === 'DELETED'));
      assert.deepEqual(new Set(events.slice(0, 2).map((e) => e.id)), new Set([nic.id, inst.id]), 'children before the parent');
      assert.equal(events[2].id, host.id);
      assert.equal(events[2].object.spec.desiredState, 'deleted', 'a DELETED event carries the last state');
      for (const id of [host.id, inst.id, nic.id]) assert.equal(await store.get(id), undefined);
      await rejectsWith(admin.get(P, 'Host', host.id), 'not_found');
      assert.ok(await store.get(os.id), 'a plain reference target is not removed');

      const h2 = await admin.create(P, 'Host', { name: 'h2', spec: {} });
      assert.equal((await admin.delete(P, 'Host', h2.id)).removed, false);
      mark = await store.currentRevision();
      const finished = await mgr.delete(P, 'Host', h2.id);
      assert.equal(finished.removed, true);
      events = await eventsAfter(store, mark);
      assert.deepEqual(events.map((e) => [e.type, e.id, e.actor]), [['DELETED', h2.id, 'hostmgr (manager)']]);
      assert.equal(await store.get(h2.id), undefined);
    }));

  test(`${dialect}: desired-state transitions follow the table against the manager's currentState`, (t) =>
    withInventory(t, dialect, async ({ store, admin, mgr }) => {
      const host = await admin.create(P, 'Host', { name: 'h', spec: {} });
      await mgr.updateStatus(P, 'Host', host.id, { currentState: 'untrusted' });
      await rejectsWith(admin.update(P, 'Host', host.id, { spec: { desiredState: 'onboarded' } }), 'failed_precondition', /untrusted/);
      assert.equal((await admin.update(P, 'Host', host.id, { spec: { desiredState: 'deleted' } })).spec.desiredState, 'deleted');

      const os = await admin.create(P, 'OperatingSystem', { name: 'os', spec: OS_SPEC });
      const target = await admin.create(P, 'Host', { name: 'target', spec: {} });
      const tables = { Host: HOST_TRANSITIONS, Instance: INSTANCE_TRANSITIONS } as const;
      let n = 0;
      const kindAndStates = fc.constantFrom<keyof typeof tables>('Host', 'Instance').chain((kind) => {
        const table = tables[kind];
        const desired = fc.constantFrom(...table.unspecified);
        return fc.tuple(fc.constant(kind), desired, fc.constantFrom(...Object.keys(table)), desired);
      });
      await fc.assert(
        fc.asyncProperty(kindAndStates, async ([kind, initial, current, desired]) => {
          const name = `${kind.toLowerCase()}-${n++}`;
          const spec = kind === 'Host' ? { desiredState: initial } : { hostId: target.id, osId: os.id, desiredState: initial };
          const res = await admin.create(P, kind, { name, spec });
          const before = await mgr.updateStatus(P, kind, res.id, { currentState: current });
          const allowed = desired === initial || transitionAllowed(tables[kind], current, desired);
          const attempt = admin.update(P, kind, res.id, { spec: { desiredState: desired } });
          if (allowed) {
            assert.equal((await attempt).spec.desiredState, desired);
          } else {
            await rejectsWith(attempt, 'failed_precondition', new RegExp(`is ${current}: desiredState "${desired}" is not allowed`));
            assert.deepEqual(await store.get(res.id), before);
          }
        }),
        { numRuns: dialect === 'postgres' ? 60 : 150 },
      );
    }));

  test(`${dialect}: group commit refuses exactly the duplicates and consumes no revision for them`, (t) =>
    withInventory(t, dialect, async ({ store, admin }) => {
      await admin.create(P, 'Region', { name: 'before', spec: {} });
      const mark = await store.currentRevision();
      // Every 7th create repeats its predecessor's name: both sit in the same commit.
      const names = range(0, 199).map((i) => (i % 7 === 6 ? `g-${i - 1}` : `g-${i}`));
      const results = await Promise.allSettled(names.map((name) => admin.create(P, 'Region', { name, spec: {} })));
      const created: Resource[] = [];
      for (let i = 0; i < names.length; i++) {
        const r = results[i];
        if (i % 7 === 6 || i % 7 === 5) continue;
        assert.equal(r.status, 'fulfilled', `create #${i} (${names[i]}) failed: ${r.status === 'rejected' ? String(r.reason) : ''}`);
        created.push((r as PromiseFulfilledResult<Resource>).value);
      }
      for (let i = 6; i < names.length; i += 7) {
        const pair = [results[i - 1], results[i]];
        const ok = pair.filter((r) => r.status === 'fulfilled');
        const refused = pair.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(ok.length, 1, `exactly one of the two creates named ${names[i]} succeeds`);
        assert.equal(refused.length, 1);
        assert.ok(isEimError(refused[0].reason) && refused[0].reason.code === 'conflict', `the duplicate fails with conflict: ${String(refused[0].reason)}`);
        created.push((ok[0] as PromiseFulfilledResult<Resource>).value);
      }
      assert.equal(created.length, 200 - 28);

      const events = await eventsAfter(store, mark);
      assert.deepEqual(events.map((e) => e.revision), range(mark + 1, mark + created.length), 'one event per successful write, no gap');
      assert.equal(await store.currentRevision(), mark + created.length);
      assert.deepEqual(new Set(events.map((e) => e.id)), new Set(created.map((r) => r.id)));
      assert.deepEqual(created.map((r) => r.revision).sort((x, y) => x - y), range(mark + 1, mark + created.length));
      assert.ok(new Set(events.map((e) => e.at)).size < events.length, 'several writes shared one commit');
    }));

  test(`${dialect}: the writes of one commit see each other: status patches on one resource add up, a rename is seen by a create, a delete by a read`, (t) =>
    withInventory(t, dialect, async ({ store, admin, mgr }) => {
      const host = await admin.create(P, 'Host', { name: 'h', spec: { desiredState: 'onboarded' } });
      const a = await admin.create(P, 'Region', { name: 'a', spec: {} });
      const doomed = await admin.create(P, 'Region', { name: 'doomed', spec: {} });
      const mark = await store.currentRevision();
      // All submitted in one turn of the event loop: they share commits (up to 512 writes each).
      const patches = range(0, 99).map((i) => mgr.updateStatus(P, 'Host', host.id, { inheritedLabels: { [`k${i}`]: String(i) } }));
      const rename = admin.update(P, 'Region', a.id, { name: 'x' });
      const clash = admin.create(P, 'Region', { name: 'x', spec: {} });
      const gone = admin.delete(P, 'Region', doomed.id);
      const afterDelete = admin.update(P, 'Region', doomed.id, { labels: { late: 'yes' } });
      const [patched, renamed] = await Promise.all([Promise.all(patches), rename]);
      await rejectsWith(clash, 'conflict', /name/);
      await gone;
      await rejectsWith(afterDelete, 'not_found');
      const labelsOf = (h: { status: Record<string, unknown> }) => (h.status.inheritedLabels ?? {}) as Record<string, string>;
      assert.deepEqual(patched.map((h) => Object.keys(labelsOf(h)).length), range(1, 100), 'each patch saw every one before it');
      const stored = await admin.get(P, 'Host', host.id);
      assert.equal(stored.revision, patched[99].revision);
      for (let i = 0; i < 100; i++) assert.equal(labelsOf(stored)[`k${i}`], String(i));
      assert.equal((await admin.get(P, 'Region', a.id)).name, renamed.name);
      const events = await eventsAfter(store, mark);
      assert.deepEqual(events.map((e) => e.revision), range(mark + 1, mark + 102), '100 patches, a rename, a delete');
      const hostEvents = events.filter((e) => e.id === host.id);
      assert.deepEqual(hostEvents.map((e) => Object.keys(labelsOf(e.object)).length), range(1, 100), 'each event carries the state its write made');
      assert.ok(new Set(events.map((e) => (e as unknown as { at: string }).at)).size < events.length, 'several writes shared one commit');
    }));

  test(`${dialect}: the event log has the contract shape, filters, and compacts`, (t) =>
    withInventory(
      t,
      dialect,
      async ({ svc, store, admin, mgr }) => {
        await svc.ensureProject('other');
        const region = await admin.create(P, 'Region', { name: 'r', spec: {} });
        await admin.create('other', 'Region', { name: 'r', spec: {} });
        const site = await admin.create(P, 'Site', { name: 's', spec: { regionId: region.id } });
        await admin.update(P, 'Site', site.id, { labels: { a: 'b' } });
        const host = await admin.create(P, 'Host', { name: 'h', spec: {} });
        await mgr.updateStatus(P, 'Host', host.id, { currentState: 'registered' });
        await admin.delete(P, 'Site', site.id);

        const logged = await store.readEvents({ after: 0, limit: 1000 });
        assert.deepEqual(logged.map((e) => e.revision), range(1, 7));
        const types = logged.map((e) => e.type);
        assert.deepEqual(types, ['CREATED', 'CREATED', 'CREATED', 'UPDATED', 'CREATED', 'UPDATED', 'DELETED']);
        for (const row of logged) {
          const ev = JSON.parse(row.json) as InventoryEvent;
          assert.deepEqual(Object.keys(ev).sort(), ['actor', 'at', 'id', 'kind', 'object', 'project', 'revision', 'type']);
          assert.deepEqual([ev.type, ev.revision, ev.kind, ev.id, ev.project], [row.type, row.revision, row.kind, row.id, row.project]);
          assert.deepEqual([ev.object.revision, ev.object.kind, ev.object.id, ev.object.project], [ev.revision, ev.kind, ev.id, ev.project]);
          assert.ok(!Number.isNaN(Date.parse(ev.at)), `at is a time: ${ev.at}`);
          if (ev.type !== 'DELETED') assert.equal(ev.at, ev.object.updatedAt);
          assert.equal(ev.actor, ev.revision === 6 ? 'hostmgr (manager)' : 'admin (admin)');
        }
        assert.equal((JSON.parse(logged[6].json) as InventoryEvent).object.labels.a, 'b', 'DELETED carries the last state');

        const revs = async (q: { after?: number; limit?: number; project?: string; kinds?: string[]; id?: string }) =>
          (await store.readEvents({ after: 0, limit: 1000, ...q })).map((e) => e.revision);
        assert.deepEqual(await revs({ project: 'other' }), [2]);
        assert.deepEqual(await revs({ project: P }), [1, 3, 4, 5, 6, 7]);
        assert.deepEqual(await revs({ kinds: ['Site'] }), [3, 4, 7]);
        assert.deepEqual(await revs({ kinds: ['Site', 'Host'], project: P }), [3, 4, 5, 6, 7]);
        assert.deepEqual(await revs({ id: host.id }), [5, 6]);
        assert.deepEqual(await revs({ after: 4 }), [5, 6, 7]);
        assert.deepEqual(await revs({ after: 1, limit: 2 }), [2, 3]);
        assert.deepEqual(await revs({ after: 7 }), []);

        for (let i = 0; i < 23; i++) await admin.create(P, 'Region', { name: `more-${i}`, spec: {} });
        assert.equal(await store.currentRevision(), 30);
        assert.equal(await svc.compact(), 20, 'all but the newest 10 events are older than minAgeMs 0');
        assert.deepEqual(await revs({ after: 20 }), range(21, 30));
        const stored = await store.db.selectFrom('eim_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
        assert.equal(Number(stored.n), 10, 'the compacted rows are gone');
        for (const after of [0, 5, 19]) {
          await assert.rejects(store.readEvents({ after, limit: 10 }), (e: unknown) => {
            assert.ok(isEimError(e) && e.code === 'revision_compacted', String(e));
            assert.equal(e.details?.compactedRevision, 20);
            return true;
          });
        }
        assert.equal(await svc.compact(), 20, 'compacting again is a no-op');

        const young = new InventoryService(store, { retention: { minAgeMs: 3_600_000, minEvents: 5 } });
        assert.equal(await young.compact(), 20, 'events younger than minAgeMs are kept whatever their number');
      },
      // The clock runs a second ahead, so even the events of this millisecond count as old.
      { retention: { minAgeMs: 0, minEvents: 10 }, now: () => new Date(Date.now() + 1000) },
    ));

  test(`${dialect}: referringTo finds a host's devices of the asked kinds in its project only, every value a parameter`, (t) =>
    withInventory(t, dialect, async ({ store, svc, admin, mgr }) => {
      await svc.ensureProject('other');
      const host = await admin.create(P, 'Host', { name: 'h1', spec: {} });
      const twin = await admin.create(P, 'Host', { name: 'h2', spec: {} });
      const nic = await mgr.create(P, 'HostNic', { name: 'h1-eth0', status: { hostId: host.id, deviceName: 'eth0' } });
      const disk = await mgr.create(P, 'HostStorage', { name: 'h1-sda', status: { hostId: host.id, deviceName: 'sda' } });
      await mgr.create(P, 'HostGpu', { name: 'h1-gpu0', status: { hostId: host.id, deviceName: 'gpu0' } });
      await mgr.create(P, 'HostNic', { name: 'h2-eth0', status: { hostId: twin.id, deviceName: 'eth0' } });
      const ids = (rs: Resource[]) => rs.map((r) => r.id);
      assert.deepEqual(ids(await store.referringTo(P, host.id, ['HostNic', 'HostStorage'], 100)), [nic.id, disk.id].sort());
      assert.deepEqual((await store.referringTo(P, host.id, ['HostNic'], 100))[0], await mgr.get(P, 'HostNic', nic.id), 'the stored resource, whole');
      assert.equal((await store.referringTo(P, host.id, ['HostNic', 'HostStorage', 'HostGpu'], 2)).length, 2, 'at most limit');
      assert.deepEqual(await store.referringTo('other', host.id, ['HostNic', 'HostStorage', 'HostGpu'], 100), [], 'another project sees none of them');
      assert.deepEqual(await store.referringTo(P, host.id, [], 100), []);
      // SQLite gets the limit written into the statement's text: only an integer is ever written.
      for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '2; drop table eim_resources' as unknown as number]) {
        await assert.rejects(store.referringTo(P, host.id, ['HostNic'], bad), TypeError, `limit ${String(bad)}`);
      }
      // Values that would change a query pasted together from them find nothing.
      for (const hostile of [`${host.id}' or '1'='1`, `") or 1=1 --`, '%', '*']) {
        assert.deepEqual(await store.referringTo(P, hostile, ['HostNic'], 100), [], `target ${hostile}`);
        assert.deepEqual(await store.referringTo(hostile, host.id, ['HostNic'], 100), [], `project ${hostile}`);
        assert.deepEqual(await store.referringTo(P, host.id, [hostile, `HostNic' or '1'='1`], 100), [], `kinds ${hostile}`);
      }
    }));

  test(`${dialect}: acknowledged writes and the revision survive close and reopen`, (t) =>
    withInventory(t, dialect, async ({ ts, svc, store, admin, mgr }) => {
      const region = await admin.create(P, 'Region', { name: 'r', labels: { k: 'v' }, spec: {} });
      const host = await admin.create(P, 'Host', { name: 'h', spec: { serialNumber: 'SN1' } });
      const status = await mgr.updateStatus(P, 'Host', host.id, { currentState: 'registered' });
      const removed = await admin.create(P, 'Region', { name: 'gone', spec: {} });
      await admin.delete(P, 'Region', removed.id);
      const revision = await store.currentRevision();
      const log = await store.readEvents({ after: 0, limit: 1000 });
      await svc.stop();
      await store.close();

      const reopened = await ts.reopen();
      const svc2 = new InventoryService(reopened);
      try {
        await svc2.start();
        const admin2 = svc2.as(ADMIN);
        assert.equal(await reopened.currentRevision(), revision);
        assert.deepEqual(await admin2.get(P, 'Region', region.id), region);
        assert.deepEqual(await admin2.get(P, 'Host', host.id), status);
        assert.equal(await reopened.get(removed.id), undefined);
        assert.deepEqual(await reopened.readEvents({ after: 0, limit: 1000 }), log);
        const next = await admin2.create(P, 'Region', { name: 'after', spec: {} });
        assert.equal(next.revision, revision + 1, 'the revision counter continues');
      } finally {
        await svc2.stop();
      }
    }));
}

test("postgres: a store hears of other processes' commits, not of its own (whose events it has)", async (t) => {
  if (!(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
  const ts = await openTestStore('postgres');
  const other = await ts.reopen();
  try {
    const heard: { mine: (number | undefined)[]; theirs: (number | undefined)[] } = { mine: [], theirs: [] };
    ts.store.onRemoteCommit((r) => heard.mine.push(r));
    other.onRemoteCommit((r) => heard.theirs.push(r));
    const region = (name: string) => ({ kind: 'Region', id: `region-0000${name}`, project: P, name, labels: {}, generation: 1, spec: {}, status: {} });
    const a = await ts.store.write(async (tx) => (await tx.insertIfFree(region('000a'), 'a')).resource!);
    const b = await Promise.all([ts.store.write(async (tx) => (await tx.insertIfFree(region('000b'), 'a')).resource!), ts.store.write(async (tx) => (await tx.insertIfFree(region('000c'), 'a')).resource!)]);
    const c = await other.write(async (tx) => (await tx.insertIfFree(region('000d'), 'a')).resource!);
    const deadline = Date.now() + 5000;
    while ((heard.theirs.length < 2 || heard.mine.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // anything late
    assert.deepEqual(heard.theirs, [a.revision, Math.max(...b.map((x) => x.revision))], 'the other store hears of each commit');
    assert.deepEqual(heard.mine, [c.revision], 'the writer does not hear of its own commits');
  } finally {
    await ts.cleanup();
  }
});

test('postgres: a commit whose answer is lost after it happened is answered as committed, not retried (its writes would be applied twice)', async (t) => {
  if (!(await pgReachable())) return void t.skip(`no PG at ${PG_URL}`);
  const ts = await openTestStore('postgres');
  let restore = () => {};
  try {
    const svc = new InventoryService(ts.store);
    await svc.start();
    await svc.ensureProject(P);
    const admin = svc.as(ADMIN);
    const mark = await ts.store.currentRevision();
    // The next COMMIT happens, and then its connection "resets" before the answer is read.
    let armed = true;
    restore = interceptPgQueries((text, send) => {
      const r = send();
      if (armed && text === 'commit' && r instanceof Promise) {
        armed = false;
        return r.then(() => {
          throw new Error('Connection terminated unexpectedly');
        });
      }
      return r;
    });
    const made = await Promise.allSettled(['a', 'b', 'c'].map((name) => admin.create(P, 'Region', { name, spec: {} })));
    restore();
    assert.equal(armed, false, 'the fault was injected');
    assert.deepEqual(made.map((m) => m.status), ['fulfilled', 'fulfilled', 'fulfilled'], made.map((m) => (m.status === 'rejected' ? String(m.reason) : 'ok')).join('; '));
    const events = await ts.store.readEvents({ after: mark, limit: 100 });
    assert.deepEqual(events.map((e) => e.type), ['CREATED', 'CREATED', 'CREATED'], 'each create logged once');
    assert.equal(await ts.store.currentRevision(), mark + 3);
    assert.deepEqual((await admin.list(P, 'Region', { pageSize: 10 })).items.map((r) => r.name).sort(), ['a', 'b', 'c']);
    await svc.stop();
  } finally {
    restore();
    await ts.cleanup();
  }
});
