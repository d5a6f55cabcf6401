import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ALL_PROJECTS, EimError, type Inventory } from '../../api/index.ts';
import { InventoryService } from '../../inventory/index.ts';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable, type TestStore } from '../../testing/test-stores.ts';
import { LeaseTracker } from './lease-tracker.ts';

// Two servers' lease trackers on one store, on a fake clock: a host heartbeating to the server that
// does not judge stays running; a host that moves from the judge to the other stays running; a host
// that stops, wherever it was, turns "no connection" after 3 intervals (+ the flush allowance when
// another server held it); the judging moves to the other server and nothing changes; running
// hosts get lastSeenAt at most once a minute.

const INTERVAL = 1000;
const FLUSH = 500;

async function withTwoServers(t: TestContext, dialect: Dialect, body: (x: { a: LeaseTracker; b: LeaseTracker; clock: { now: number }; inv: Inventory; ids: string[] }) => Promise<void>) {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const ts = await openTestStore(dialect);
  const service = new InventoryService(ts.store);
  await service.start();
  await ts.store.ensureProject('default');
  await service.ensureProject('default');
  const inv = service.as({ subject: 'southbound', grants: [{ project: ALL_PROJECTS, role: 'manager' }] });
  const admin = service.as({ subject: 'admin', grants: [{ project: ALL_PROJECTS, role: 'admin' }] });
  const ids = await Promise.all(['h1', 'h2', 'h3'].map(async (name) => (await admin.create('default', 'Host', { name, spec: { desiredState: 'onboarded' } })).id));
  const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
  // Real timers far apart: the test flushes and checks by hand, on its clock.
  const make = (serverId: string) => new LeaseTracker({ inventory: inv, leases: ts.store.leases, serverId, flushMs: FLUSH, checkEveryMs: 3_600_000, fullPassMs: 5000, now: () => clock.now });
  const a = make('a');
  const b = make('b');
  const abort = new AbortController();
  const watch = await service.openWatch({ subject: 'w', grants: [{ project: ALL_PROJECTS, role: 'manager' }] }, { project: ALL_PROJECTS, kinds: ['Host'], signal: abort.signal });
  const feeding = (async () => {
    for await (const item of watch) {
      if (item.type !== 'event') continue;
      const e = item.event();
      for (const tr of [a, b]) tr.observeHost(e.object, e.type === 'DELETED');
    }
  })().catch(() => {});
  try {
    await a.start();
    await b.start();
    await body({ a, b, clock, inv, ids });
  } finally {
    await a.stop();
    await b.stop();
    abort.abort();
    await feeding;
    await service.stop();
    await ts.cleanup();
  }
}

for (const dialect of DIALECTS) {
  test(`${dialect}: two servers, one judge: heartbeats anywhere keep hosts running, a silent host is lost, the judge moves`, (t) =>
    withTwoServers(t, dialect, async ({ a, b, clock, inv, ids: [h1, h2, h3] }) => {
      const status = async (id: string) => ((await inv.get('default', 'Host', id)).status as { hostStatus?: { message?: string }; lastSeenAt?: string });
      const settle = async (id: string, message: string) => {
        for (let i = 0; i < 200 && (await status(id)).hostStatus?.message !== message; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal((await status(id)).hostStatus?.message, message, `${id} ${message}`);
      };
      a.lead();
      // h1 heartbeats to b (not the judge), h2 to a (the judge), h3 to b and then stops.
      const step = async (beats: [LeaseTracker, string][]) => {
        clock.now += 250;
        for (const [tr, id] of beats) tr.beat('default', id, INTERVAL);
        await a.flush();
        await b.flush();
        await (a.leading ? a : b).checkNow();
        await new Promise((r) => setTimeout(r, 5));
      };
      await step([[b, h1], [a, h2], [b, h3]]);
      for (const id of [h1, h2, h3]) await settle(id, 'running');
      for (let i = 0; i < 20; i++) await step([[b, h1], [a, h2]]); // 5 s: h3 silent since 5 s
      await settle(h3, 'no connection');
      assert.equal((await status(h1)).hostStatus?.message, 'running');
      assert.equal((await status(h2)).hostStatus?.message, 'running');
      // h2 moves to b (a still remembers its older heartbeat); the judge reads b's lease.
      for (let i = 0; i < 20; i++) await step([[b, h1], [b, h2]]);
      assert.equal((await status(h2)).hostStatus?.message, 'running', 'a host that moved to another server stays running');
      // The judge moves to b; a stops hearing anything (it died); nothing changes.
      await a.follow();
      b.lead();
      for (let i = 0; i < 20; i++) await step([[b, h1], [b, h2]]);
      assert.deepEqual([(await status(h1)).hostStatus?.message, (await status(h2)).hostStatus?.message], ['running', 'running']);
      // h2 stops: lost within 3 intervals (+ the flush allowance and a check).
      const stoppedAt = clock.now;
      for (let i = 0; i < 12 && (await status(h2)).hostStatus?.message === 'running'; i++) await step([[b, h1]]);
      await settle(h2, 'no connection');
      assert.ok(clock.now - stoppedAt <= 3 * INTERVAL + FLUSH + 250, `lost after ${clock.now - stoppedAt} ms`);
      // lastSeenAt of a running host is caught up by the judge's full pass, at most once a minute.
      const before = Date.parse((await status(h1)).lastSeenAt!);
      for (let i = 0; i < 280; i++) await step([[b, h1]]); // 70 s
      const after = Date.parse((await status(h1)).lastSeenAt!);
      assert.ok(after - before >= 45_000 && clock.now - after <= 60_000 + 5000, `lastSeenAt moved ${after - before} ms, ${clock.now - after} ms behind`);
      // h3 comes back through a: running again at once.
      a.beat('default', h3, INTERVAL);
      await settle(h3, 'running');
    }));
}

for (const dialect of DIALECTS) {
  test(`${dialect}: a host revoked on a server that is not the judge is lost 3 intervals after its last heartbeat there, not after the flush allowance`, (t) =>
    withTwoServers(t, dialect, async ({ a, b, clock, inv, ids: [h1] }) => {
      const message = async () => ((await inv.get('default', 'Host', h1)).status as { hostStatus?: { message?: string } }).hostStatus?.message;
      a.lead();
      const step = async (beat: boolean) => {
        clock.now += 250;
        if (beat) b.beat('default', h1, INTERVAL);
        await a.flush();
        await b.flush();
        await a.checkNow();
        await new Promise((r) => setTimeout(r, 5));
      };
      for (let i = 0; i < 4 && (await message()) !== 'running'; i++) await step(true);
      assert.equal(await message(), 'running');
      await step(true);
      const lastBeat = clock.now;
      b.forget(h1); // invalidated: its agent is refused on b from now on
      while ((await message()) === 'running' && clock.now - lastBeat < 6 * INTERVAL) await step(false);
      assert.equal(await message(), 'no connection');
      assert.ok(clock.now - lastBeat <= 3 * INTERVAL + 250, `lost ${clock.now - lastBeat} ms after its last heartbeat (3 intervals: ${3 * INTERVAL} ms, one step ${250} ms)`);
    }));
}

interface OneStore {
  ts: TestStore;
  /** The southbound's view (a manager on every project), and an admin's. */
  inv: Inventory;
  admin: Inventory;
  /** A host's stored connection state (status.hostStatus.message). */
  message: (id: string) => Promise<string | undefined>;
  /** Polls `message` until it says `want` (for 2 s at least), and returns what it says then. */
  settled: (id: string, want: string) => Promise<string | undefined>;
  /** Stopped, before the store closes, when the test ends. */
  track: (tracker: LeaseTracker) => LeaseTracker;
}

/** A fresh SQLite store behind a started InventoryService, for one test's lease trackers. */
async function withOneStore(body: (x: OneStore) => Promise<void>): Promise<void> {
  const ts = await openTestStore('sqlite');
  const service = new InventoryService(ts.store);
  const trackers: LeaseTracker[] = [];
  try {
    await service.start();
    await service.ensureProject('default');
    const inv = service.as({ subject: 'southbound', grants: [{ project: ALL_PROJECTS, role: 'manager' }] });
    const admin = service.as({ subject: 'admin', grants: [{ project: ALL_PROJECTS, role: 'admin' }] });
    const message = async (id: string) => ((await inv.get('default', 'Host', id)).status as { hostStatus?: { message?: string } }).hostStatus?.message;
    const settled = async (id: string, want: string) => {
      for (let i = 0; i < 400 && (await message(id)) !== want; i++) await new Promise((r) => setTimeout(r, 5));
      return message(id);
    };
    await body({ ts, inv, admin, message, settled, track: (t) => (trackers.push(t), t) });
  } finally {
    for (const t of trackers) await t.stop();
    await service.stop();
    await ts.cleanup();
  }
}

/** `inv` with its updateStatus replaced (the other methods as they are). */
const withUpdateStatus = (inv: Inventory, updateStatus: Inventory['updateStatus']): Inventory =>
  new Proxy(inv, { get: (o, k) => (k === 'updateStatus' ? updateStatus : Reflect.get(o, k)) });

const LONG = 3_600_000;

test('sqlite: a server listens before it has read every host: heartbeats meanwhile mark their hosts running once the hosts are loaded, and judging waits for them', () =>
  withOneStore(async ({ ts, inv, admin, message, settled, track }) => {
    const lost = (await admin.create('default', 'Host', { name: 'lost', spec: { desiredState: 'onboarded' } })).id;
    await inv.updateStatus('default', 'Host', lost, { hostStatus: { indicator: 'error', message: 'no connection', timestamp: new Date().toISOString() } });
    const silent = (await admin.create('default', 'Host', { name: 'silent', spec: { desiredState: 'onboarded' } })).id;
    await inv.updateStatus('default', 'Host', silent, { hostStatus: { indicator: 'idle', message: 'running', timestamp: new Date().toISOString() } });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    // The first read of every host waits for the gate: a store with many hosts.
    const slow = new Proxy(inv, { get: (o, k) => (k === 'list' ? async (...a: Parameters<Inventory['list']>) => (await gate, o.list(...a)) : Reflect.get(o, k)) });
    const clock = { now: Date.now() };
    const tracker = track(new LeaseTracker({ inventory: slow, leases: ts.store.leases, serverId: 'c', flushMs: 500, checkEveryMs: 50, fullPassMs: 5000, now: () => clock.now }));
    try {
      const started = tracker.start();
      tracker.lead();
      tracker.beat('default', lost, 1000);
      clock.now += 60_000; // long past every lease: a judge would call "silent" lost at once
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await message(lost), 'no connection', 'nothing written before the hosts are loaded');
      assert.equal(await message(silent), 'running', 'nothing judged before the hosts are loaded');
      tracker.beat('default', lost, 1000);
      open();
      await started;
      assert.equal(await settled(lost, 'running'), 'running', 'its heartbeat counted once the hosts were loaded');
    } finally {
      open();
    }
  }));

test('sqlite: a heartbeat heard while the judge writes "no connection" for its host turns it running again, with no further heartbeat', () =>
  withOneStore(async ({ ts, inv, admin, message, settled, track }) => {
    const id = (await admin.create('default', 'Host', { name: 'h', spec: { desiredState: 'onboarded' } })).id;
    // Status writes wait for the gate while it is shut: a loaded store, the judge's write in flight.
    let gate: Promise<void> = Promise.resolve();
    let open = () => {};
    const started: string[] = [];
    const written: string[] = [];
    const said = (patch: unknown) => (patch as { hostStatus?: { message?: string } }).hostStatus?.message ?? '';
    const slow = withUpdateStatus(inv, async (...a) => {
      started.push(said(a[3]));
      await gate;
      const r = await inv.updateStatus(...a);
      written.push(said(a[3]));
      return r;
    });
    const clock = { now: Date.now() };
    const tracker = track(new LeaseTracker({ inventory: slow, leases: ts.store.leases, serverId: 'j', flushMs: LONG, checkEveryMs: LONG, fullPassMs: LONG, now: () => clock.now }));
    try {
      await tracker.start();
      tracker.lead();
      tracker.beat('default', id, 1000);
      assert.equal(await settled(id, 'running'), 'running');
      await new Promise((r) => setTimeout(r, 50)); // the tracker has heard its own write
      gate = new Promise<void>((r) => (open = r));
      clock.now += 10_000; // silent for 10 intervals
      const checked = tracker.checkNow();
      for (let i = 0; i < 200 && started.at(-1) !== 'no connection'; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(started.at(-1), 'no connection', `the judge is writing "no connection" (${JSON.stringify(started)})`);
      tracker.beat('default', id, 1000); // the agent is back while that write is in flight
      open();
      await checked;
      for (let i = 0; i < 200 && !written.includes('no connection'); i++) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(written.slice(0, 2), ['running', 'no connection'], 'the judge wrote "no connection"');
      assert.equal(await settled(id, 'running'), 'running', `running again: the heartbeat heard during the write counts (${JSON.stringify(written)})`);
    } finally {
      open();
    }
  }));

test('sqlite: a status write that fails is tried again at the next heartbeat, not at once in a loop', () =>
  withOneStore(async ({ ts, inv, admin, settled, track }) => {
    const id = (await admin.create('default', 'Host', { name: 'h', spec: { desiredState: 'onboarded' } })).id;
    let calls = 0;
    let failing = true;
    const flaky = withUpdateStatus(inv, async (...a) => {
      calls++;
      if (failing) throw new EimError('unavailable', 'the database is down');
      return inv.updateStatus(...a);
    });
    // onError swallows the failures (the tracker reports each).
    const tracker = track(new LeaseTracker({ inventory: flaky, leases: ts.store.leases, serverId: 'j', flushMs: LONG, checkEveryMs: LONG, fullPassMs: LONG, onError: () => {} }));
    await tracker.start();
    tracker.lead();
    tracker.beat('default', id, 10_000);
    await new Promise((r) => setTimeout(r, 50));
    tracker.beat('default', id, 10_000); // heard while the first write was in flight, or after it failed
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(calls >= 1 && calls <= 4, `${calls} status writes for 2 heartbeats while the store fails`);
    failing = false;
    tracker.beat('default', id, 10_000);
    assert.equal(await settled(id, 'running'), 'running', 'written at the heartbeat after the store is back');
  }));

test('sqlite: a heartbeat that slips in after its host was revoked (before its token is refused) neither extends its lease nor makes it running again', () =>
  withOneStore(async ({ ts, admin, inv, message, settled, track }) => {
    const id = (await admin.create('default', 'Host', { name: 'h', spec: { desiredState: 'onboarded' } })).id;
    const clock = { now: Date.now() };
    // The store has a write a moment before the tracker has its answer (a loaded machine). A
    // check while a host's write is in flight leaves that host to the next check: this test's one
    // check comes after the answer.
    let answered = 0;
    const slowAnswer = withUpdateStatus(inv, async (...a) => {
      const r = await inv.updateStatus(...a);
      await new Promise((r) => setTimeout(r, 100));
      answered++;
      return r;
    });
    const tracker = track(new LeaseTracker({ inventory: slowAnswer, leases: ts.store.leases, serverId: 'r', flushMs: LONG, checkEveryMs: LONG, fullPassMs: LONG, now: () => clock.now }));
    await tracker.start();
    tracker.lead();
    tracker.beat('default', id, 1000);
    assert.equal(await settled(id, 'running'), 'running');
    for (let i = 0; i < 400 && answered < 1; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r)); // the tracker's write is done
    tracker.forget(id); // invalidated: its agent tokens are being revoked
    clock.now += 2000;
    tracker.beat('default', id, 1000); // its token, not refused yet
    clock.now += 1001;
    await tracker.checkNow();
    assert.equal(await settled(id, 'no connection'), 'no connection', 'lost 3 intervals after its last heartbeat before the revocation');
    tracker.beat('default', id, 1000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await message(id), 'no connection', 'a revoked host is never running again');
  }));
