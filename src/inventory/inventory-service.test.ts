import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { type Caller, type ErrorCode, type Inventory, type InventoryEvent, isEimError, type Resource, type WatchItem } from '../api/index.ts';
import type { KyselyStore } from '../store/kysely-store.ts';
import type { EventQuery, LoggedEvent } from '../store/index.ts';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { InventoryService, type InventoryServiceOptions } from './inventory-service.ts';

const P = 'default';
const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const MANAGER: Caller = { subject: 'hostmgr', grants: [{ project: '*', role: 'manager' }] };
const EDITOR: Caller = { subject: 'ed', grants: [{ project: P, role: 'editor' }] };
const VIEWER: Caller = { subject: 'vi', grants: [{ project: P, role: 'viewer' }] };
const STRANGER: Caller = { subject: 'st', grants: [{ project: 'other', role: 'admin' }] };
const OS_SPEC = {
  imageUrl: 'https://images.example.com/ubuntu-22.04.img', sha256: 'ab'.repeat(32), profileName: 'ubuntu',
  profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64',
};

/** About 200 kB of labels (a string field of a resource is bounded, its labels are not): repeated letters that compress to little on disk, or random hex that does not. */
const bigLabels = (compressible: boolean): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 780 }, (_, k) => [`big${k}`, compressible ? 'x'.repeat(250) : randomBytes(125).toString('hex')]));

interface Ctx {
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
    await svc.ensureProject('other');
    await body({ store: ts.store, svc, admin: svc.as(ADMIN), mgr: svc.as(MANAGER) });
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

/** The first item of a watch: where a refused watch reports its error. */
const openWatch = (inv: Inventory, options: Parameters<Inventory['watch']>[0]) => inv.watch(options)[Symbol.asyncIterator]().next();

/** Reads a watch until `done(items)` holds or the watch ends (its signal aborted). */
async function collect(iterable: AsyncIterable<WatchItem>, done: (items: WatchItem[]) => boolean): Promise<WatchItem[]> {
  const items: WatchItem[] = [];
  for await (const item of iterable) {
    items.push(item);
    if (done(items)) break;
  }
  return items;
}

const events = (items: WatchItem[]) => items.filter((i): i is Extract<WatchItem, { type: 'event' }> => i.type === 'event');
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

test('validation errors are invalid_argument and name the field', (t) =>
  withInventory(t, 'sqlite', async ({ svc, store, admin, mgr }) => {
    const { sha256: _, ...noSha } = OS_SPEC;
    const region = await admin.create(P, 'Region', { name: 'r', spec: {} });
    const host = await admin.create(P, 'Host', { name: 'h', spec: {} });
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['unknown spec field', () => admin.create(P, 'Region', { name: 'x', spec: { foo: 1 } }), /spec has unknown field\(s\) "foo"/],
      ['unknown nested field', () => admin.create(P, 'Site', { name: 'x', spec: { regionId: region.id, proxies: { bogus: 'y' } } }), /spec\.proxies has unknown field\(s\) "bogus"/],
      ['wrong type', () => admin.create(P, 'Site', { name: 'x', spec: { regionId: region.id, latitude: 'north' } }), /spec\.latitude must be number/],
      ['out of range', () => admin.create(P, 'Site', { name: 'x', spec: { regionId: region.id, latitude: 91 } }), /spec\.latitude must be <= 90/],
      ['missing field', () => admin.create(P, 'OperatingSystem', { name: 'x', spec: noSha }), /spec must have required properties sha256/],
      ['bad enum', () => admin.create(P, 'Host', { name: 'x', spec: { desiredState: 'flying' } }), /spec\.desiredState/],
      ['bad ref shape', () => admin.create(P, 'Site', { name: 'x', spec: { regionId: 'site-00000000' } }), /spec\.regionId/],
      ['cross-field rule', () => admin.create(P, 'OsUpdatePolicy', { name: 'x', spec: { policy: 'target', rollout: { maxConcurrent: 1, maxFailures: 0 } } }), /spec\.targetOsId is required/],
      ['secret not echoed', () => admin.create(P, 'LocalAccount', { name: 'x', spec: { username: 'ops', sshKey: 42 } }), /spec\.sshKey must be string \(value not shown\)/],
      ['bad name', () => admin.create(P, 'Region', { name: '-bad name', spec: {} }), /name must match pattern/],
      ['long name', () => admin.create(P, 'Region', { name: 'a'.repeat(129), spec: {} }), /name must not have more than 128/],
      ['bad label key', () => admin.create(P, 'Region', { name: 'x', labels: { '-x': 'y' }, spec: {} }), /labels: key "-x"/],
      ['bad label value', () => admin.create(P, 'Region', { name: 'x', labels: { line: 3 as unknown as string }, spec: {} }), /labels\.line must be string/],
      ['read-only field', () => admin.create(P, 'Region', { name: 'x', spec: {}, revision: 7 } as never), /"revision"/],
      ['status on a user kind', () => admin.create(P, 'Host', { name: 'x', spec: {}, status: { currentState: 'onboarded' } }), /"status"/],
      ['unknown field in a patch', () => admin.update(P, 'Host', host.id, { spec: { colour: 'red' } }), /spec has unknown field\(s\) "colour"/],
      ['wrong type in a patch', () => admin.update(P, 'Host', host.id, { spec: { autoProvision: 'yes' } }), /spec\.autoProvision must be boolean/],
      ['bad name in a patch', () => admin.update(P, 'Host', host.id, { name: 'a b' }), /name must match pattern/],
      ['bad label key in a patch', () => admin.update(P, 'Host', host.id, { labels: { 'a b': 'c' } }), /labels: key "a b"/],
      ['bad status', () => mgr.updateStatus(P, 'Host', host.id, { currentState: 'sleepy' }), /status\.currentState/],
      ['bad id', () => admin.get(P, 'Host', 'nope'), /"nope" is not a Host id: Host ids look like host-0a1b2c3d/],
      ['id of another kind', () => admin.update(P, 'Host', region.id, { labels: {} }), new RegExp(`${region.id} is not a Host id`)],
      ['unknown kind', () => admin.create(P, 'Spaceship', { name: 'x', spec: {} }), /unknown kind "Spaceship"/],
      ['unknown kind in list', () => admin.list(P, 'hosts'), /unknown kind "hosts"/],
      ['unknown kind in watch', () => openWatch(admin, { project: P, kinds: ['Spaceship'] }), /unknown kind "Spaceship"/],
    ];
    const before = await store.currentRevision();
    for (const [what, call, message] of cases) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(isEimError(e), `${what}: not an EimError: ${String(e)}`);
        assert.equal(e.code, 'invalid_argument', `${what}: ${e.code} ${e.message}`);
        assert.match(e.message, message, what);
        return true;
      }, what);
    }
    assert.equal(await store.currentRevision(), before, 'nothing invalid was written');
    assert.deepEqual(await admin.get(P, 'Host', host.id), host);
    assert.equal(svc.stats.writes, 2);
  }));

for (const dialect of DIALECTS) {
  test(`${dialect}: a patch of a host's identity: null removes it, a number is invalid_argument (never a crash)`, (t) =>
    withInventory(t, dialect, async ({ admin }) => {
      const host = await admin.create(P, 'Host', { name: 'ident', spec: { uuid: '00000000-0000-4000-8000-0000000000aa', serialNumber: 'SN-IDENT' } });
      const cleared = await admin.update(P, 'Host', host.id, { spec: { uuid: null } });
      assert.equal((cleared.spec as { uuid?: string }).uuid, undefined);
      assert.equal((cleared.spec as { serialNumber?: string }).serialNumber, 'SN-IDENT');
      await rejectsWith(admin.update(P, 'Host', host.id, { spec: { uuid: 5 } }), 'invalid_argument', /spec\.uuid/);
      await rejectsWith(admin.update(P, 'Host', host.id, { spec: { serialNumber: 7 } }), 'invalid_argument', /spec\.serialNumber/);
    }));
}

test('write policy: roles write only their fields; a caller without a grant sees nothing', (t) =>
  withInventory(t, 'sqlite', async ({ svc, store, admin, mgr }) => {
    const editor = svc.as(EDITOR);
    const viewer = svc.as(VIEWER);
    const stranger = svc.as(STRANGER);
    const host = await editor.create(P, 'Host', { name: 'h', spec: {} });
    assert.equal(host.spec.desiredState, 'registered');

    await rejectsWith(editor.updateStatus(P, 'Host', host.id, { currentState: 'onboarded' }), 'permission_denied', /ed may not write the status of Hosts/);
    await rejectsWith(mgr.update(P, 'Host', host.id, { spec: { desiredState: 'onboarded' } }), 'permission_denied', /hostmgr may not change Hosts/);
    await rejectsWith(mgr.update(P, 'Host', host.id, { labels: { a: 'b' } }), 'permission_denied');
    await rejectsWith(viewer.create(P, 'Region', { name: 'r', spec: {} }), 'permission_denied', /vi may not create Regions/);
    await rejectsWith(viewer.update(P, 'Host', host.id, { labels: { a: 'b' } }), 'permission_denied');
    await rejectsWith(viewer.delete(P, 'Host', host.id), 'permission_denied');
    await rejectsWith(editor.create(P, 'HostNic', { name: 'eth0', status: { hostId: host.id, deviceName: 'eth0' } }), 'permission_denied');
    await rejectsWith(editor.delete(P, 'Host', host.id, { force: true }), 'permission_denied', /force-delete/);
    assert.deepEqual(await viewer.get(P, 'Host', host.id), host, 'a viewer reads');
    assert.equal((await viewer.list(P, 'Host')).totalSize, 1);

    const nic = await mgr.create(P, 'HostNic', { name: 'eth0', status: { hostId: host.id, deviceName: 'eth0' } });
    await rejectsWith(editor.delete(P, 'HostNic', nic.id), 'permission_denied', /delete HostNics/);
    const st = await mgr.updateStatus(P, 'Host', host.id, { currentState: 'registered' });
    assert.equal(st.status.currentState, 'registered');
    assert.equal((await editor.update(P, 'Host', host.id, { spec: { desiredState: 'onboarded' } })).spec.desiredState, 'onboarded');

    const before = await store.currentRevision();
    const absent = [
      () => stranger.get(P, 'Host', host.id),
      () => stranger.list(P, 'Host'),
      () => stranger.create(P, 'Region', { name: 'r', spec: {} }),
      () => stranger.update(P, 'Host', host.id, { labels: { a: 'b' } }),
      () => stranger.updateStatus(P, 'Host', host.id, { currentState: 'onboarded' }),
      () => stranger.delete(P, 'Host', host.id, { force: true }),
      () => stranger.events({ project: P }),
      () => openWatch(stranger, { project: P, since: 0 }),
      () => editor.list('other', 'Host'),
    ];
    for (const call of absent) {
      await rejectsWith(call(), 'not_found', /project "(default|other)" not found/);
    }
    // Its own project does not reveal the resource either: ids are no way in.
    await rejectsWith(stranger.get('other', 'Host', host.id), 'not_found', new RegExp(`Host ${host.id} not found in project "other"`));
    await rejectsWith(stranger.delete('other', 'Host', host.id, { force: true }), 'not_found');
    await rejectsWith(admin.list('missing', 'Host'), 'not_found', /project "missing" not found/);
    assert.equal(await store.currentRevision(), before, 'no refused call wrote anything');
  }));

for (const dialect of DIALECTS) {
  test(`${dialect}: list pages through filter and orderBy, every item exactly once`, (t) =>
    withInventory(t, dialect, async ({ store, admin }) => {
      const regions: Resource[] = [];
      for (let i = 0; i < 47; i++) {
        regions.push(await admin.create(P, 'Region', { name: `r-${String(i).padStart(2, '0')}`, labels: { group: String(i % 3) }, spec: {} }));
      }
      await admin.create('other', 'Region', { name: 'r-01', labels: { group: '1' }, spec: {} });
      await admin.create(P, 'Site', { name: 'r-site', labels: { group: '1' }, spec: { regionId: regions[0].id } });
      const revision = await store.currentRevision();

      const pageAll = async (options: { filter?: string; orderBy?: string; pageSize?: number }) => {
        const seen: Resource[] = [];
        const totals = new Set<number>();
        let pageToken: string | undefined;
        let pages = 0;
        do {
          const page = await admin.list(P, 'Region', { ...options, pageToken });
          assert.ok(page.items.length <= (options.pageSize ?? 20));
          assert.equal(page.revision, revision);
          seen.push(...page.items);
          totals.add(page.totalSize);
          pageToken = page.nextPageToken;
          assert.ok(++pages <= 50, 'paging ends');
        } while (pageToken);
        assert.equal(totals.size, 1, 'totalSize is the same on every page');
        return { seen, totalSize: [...totals][0], pages };
      };

      const group1 = regions.filter((r) => r.labels.group === '1');
      const a = await pageAll({ filter: 'labels.group = "1"', orderBy: 'name desc', pageSize: 5 });
      assert.deepEqual(a.seen.map((r) => r.name), group1.map((r) => r.name).reverse(), 'each once, in order');
      assert.equal(a.totalSize, group1.length);
      assert.equal(a.pages, Math.ceil(group1.length / 5));

      const b = await pageAll({ pageSize: 10 });
      assert.deepEqual(b.seen.map((r) => r.id), regions.map((r) => r.id), 'default order is by name');
      assert.deepEqual([b.totalSize, b.pages], [47, 5]);

      const c = await pageAll({ filter: 'labels.group != "0" AND name > "r-3"', orderBy: 'labels.group, name desc', pageSize: 4 });
      const expected = regions
        .filter((r) => r.labels.group !== '0' && r.name > 'r-3')
        .sort((x, y) => x.labels.group.localeCompare(y.labels.group) || y.name.localeCompare(x.name));
      assert.deepEqual(c.seen.map((r) => r.name), expected.map((r) => r.name));
      assert.equal(c.totalSize, expected.length);

      assert.equal((await admin.list(P, 'Region', { pageSize: 5000 })).items.length, 47, 'pageSize is capped, not refused');
      const first = await admin.list(P, 'Region', { filter: 'labels.group = "1"', pageSize: 5 });
      assert.ok(first.nextPageToken);
      await rejectsWith(admin.list(P, 'Region', { filter: 'labels.group = "2"', pageSize: 5, pageToken: first.nextPageToken }), 'invalid_argument', /different query/);
      await rejectsWith(admin.list(P, 'Region', { filter: 'labels.group = "1"', orderBy: 'name desc', pageSize: 5, pageToken: first.nextPageToken }), 'invalid_argument', /different query/);
      await rejectsWith(admin.list(P, 'Site', { filter: 'labels.group = "1"', pageSize: 5, pageToken: first.nextPageToken }), 'invalid_argument', /different query/);
      await rejectsWith(admin.list(P, 'Region', { pageToken: 'not-a-token' }), 'invalid_argument', /pageToken/);
      await rejectsWith(admin.list(P, 'Region', { pageSize: 0 }), 'invalid_argument', /pageSize/);
      await rejectsWith(admin.list(P, 'Region', { filter: 'spec.nope = 1' }), 'invalid_argument');
    }));

  test(`${dialect}: a list page of big resources holds what fits its byte budget (at least one), and its tokens reach every item once`, (t) =>
    withInventory(t, dialect, async ({ admin }) => {
      // 40 of about 200 kB (half of them compress well on disk): 8 MB, twice the default budget of 4 MiB.
      const made: Resource[] = [];
      for (let i = 0; i < 40; i++) {
        made.push(await admin.create(P, 'OperatingSystem', { name: `os-${String(i).padStart(2, '0')}`, labels: { odd: String(i % 2), ...bigLabels(i % 2 === 0) }, spec: OS_SPEC }));
      }
      const bytes = (rs: Resource[]) => rs.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0);
      const pageAll = async (options: { filter?: string; orderBy?: string }, total: number, budget = 4 * 1024 * 1024) => {
        const seen: Resource[] = [];
        let pageToken: string | undefined;
        let pages = 0;
        do {
          const page = await admin.list(P, 'OperatingSystem', { ...options, pageSize: 1000, pageToken });
          assert.ok(page.items.length >= 1, 'never an empty page before the end');
          assert.ok(page.items.length === 1 || bytes(page.items) <= budget + page.items.length * 512, `${page.items.length} items, ${bytes(page.items)} bytes`);
          assert.equal(page.totalSize, total, 'totalSize on every page');
          seen.push(...page.items);
          pageToken = page.nextPageToken;
          if (pageToken) assert.ok(seen.length < total, 'a token only while items remain');
          assert.ok(++pages <= 41, 'paging ends');
        } while (pageToken);
        return { seen, pages };
      };

      const first = await admin.list(P, 'OperatingSystem', { pageSize: 1000 });
      assert.ok(first.items.length >= 1 && first.items.length < 40, `${first.items.length} items in one page`);
      assert.ok(bytes(first.items) <= 4 * 1024 * 1024 + 40 * 512, `${bytes(first.items)} bytes`);
      assert.equal(first.totalSize, 40);
      assert.ok(first.nextPageToken, 'a short page with a token: more follow');

      const byName = await pageAll({}, 40);
      assert.deepEqual(byName.seen.map((r) => r.id), made.map((r) => r.id), 'name order (keyset tokens): each once, in order');
      assert.ok(byName.pages >= 2);
      const newest = await pageAll({ orderBy: 'createdAt desc' }, 40);
      assert.deepEqual(newest.seen.map((r) => r.id), made.map((r) => r.id).reverse(), 'another order (offset tokens): each once, in order');
      const odd = await pageAll({ filter: 'labels.odd = "1"', orderBy: 'name desc' }, 20);
      assert.deepEqual(odd.seen.map((r) => r.id), made.filter((r) => r.labels.odd === '1').map((r) => r.id).reverse(), 'filtered: each once, in order');
      assert.deepEqual(newest.seen.slice(0, 3), [...made].reverse().slice(0, 3), 'the items whole');
    }));

  test(`${dialect}: listPageBytes bounds a page's resources (one item when even one is over it); the project's own checks page too`, (t) =>
    withInventory(
      t,
      dialect,
      async ({ admin, svc }) => {
        const made: Resource[] = [];
        for (let i = 0; i < 7; i++) made.push(await admin.create(P, 'Region', { name: `r-${i}`, spec: {} }));
        const seen: string[] = [];
        let pageToken: string | undefined;
        do {
          const page = await admin.list(P, 'Region', { pageSize: 1000, pageToken });
          assert.equal(page.items.length, 1);
          assert.equal(page.totalSize, 7);
          seen.push(...page.items.map((r) => r.id));
          pageToken = page.nextPageToken;
        } while (pageToken);
        assert.deepEqual(seen, made.map((r) => r.id));

        // Deleting a project reads its seeded alert rules page by page: all of them go with it.
        await svc.createProject(ADMIN, 'tiny-pages');
        assert.ok((await svc.as(ADMIN).list('tiny-pages', 'AlertRule', { pageSize: 1000 })).totalSize > 1, 'seeded with several default rules');
        await svc.deleteProject(ADMIN, 'tiny-pages');
        assert.ok(!(await svc.listProjects(ADMIN)).some((p) => p.name === 'tiny-pages'), 'the project with only its default rules is deleted');
      },
      { listPageBytes: 1 },
    ));

  test(`${dialect}: watch replays from since, then streams live, with no gap and no duplicate`, (t) =>
    withInventory(t, dialect, async ({ admin, mgr }) => {
      const signal = AbortSignal.timeout(15_000);
      const r = await admin.create(P, 'Region', { name: 'r1', spec: {} });
      const h = await admin.create(P, 'Host', { name: 'h1', spec: {} });
      await admin.create('other', 'Region', { name: 'r1', spec: {} });
      await mgr.updateStatus(P, 'Host', h.id, { currentState: 'registered' });
      await admin.update(P, 'Region', r.id, { labels: { a: 'b' } });
      // Revisions so far: 1 r1, 2 h1, 3 other/r1, 4 status, 5 label.

      const replayed = collect(admin.watch({ project: P, since: 1, signal }), (items) => items.at(-1)!.revision >= 8);
      const fromNow = collect(admin.watch({ project: P, signal }), (items) => items.at(-1)!.revision >= 8);
      const hostsOnly = collect(admin.watch({ project: P, since: 0, kinds: ['Host'], signal }), (items) => items.at(-1)!.revision >= 7);
      await sleep(20); // let the watches open
      await admin.create(P, 'Region', { name: 'r2', spec: {} }); // 6
      await admin.delete(P, 'Host', h.id); // 7 (two-phase: UPDATED)
      await admin.create('other', 'Region', { name: 'r2', spec: {} }); // 8, another project
      await admin.delete(P, 'Region', r.id); // 9

      const a = events(await replayed);
      assert.deepEqual(a.map((e) => e.revision), [2, 4, 5, 6, 7, 9]);
      assert.deepEqual(a.map((e) => e.event().type), ['CREATED', 'UPDATED', 'UPDATED', 'CREATED', 'UPDATED', 'DELETED']);
      assert.ok(a.every((e) => e.event().project === P));
      const live = events(await fromNow);
      assert.deepEqual(live.map((e) => e.revision), [6, 7, 9], 'a watch from now starts after the newest revision');
      const hosts = events(await hostsOnly);
      assert.deepEqual(hosts.map((e) => e.revision), [2, 4, 7]);
      assert.ok(hosts.every((e) => e.event().kind === 'Host'));

      const items = await collect(admin.watch({ project: P, since: 5, signal }), (all) => all.at(-1)!.revision >= 9);
      assert.deepEqual(events(items).map((e) => JSON.parse(e.json) as InventoryEvent), (await admin.events({ project: P, since: 5 })).events, 'watch and events carry the same JSON');
      await rejectsWith(openWatch(admin, { project: P, since: -1 }), 'invalid_argument', /since/);
    }));

  test(`${dialect}: property: a watcher sees exactly its project's log after since, in order`, (t) =>
    withInventory(t, dialect, async ({ svc, store, admin, mgr }) => {
      await svc.ensureProject('alpha');
      await svc.ensureProject('beta');
      type Project = 'alpha' | 'beta';
      const live: Record<Project, { regions: string[]; hosts: string[] }> = { alpha: { regions: [], hosts: [] }, beta: { regions: [], hosts: [] } };
      let counter = 0;
      const op = fc.record({
        action: fc.constantFrom('create', 'create', 'patch', 'status', 'delete'),
        project: fc.constantFrom<Project>('alpha', 'beta'),
        pick: fc.nat(),
        concurrent: fc.boolean(),
      });
      type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

      const apply = async ({ action, project, pick }: Op): Promise<void> => {
        const pool = live[project];
        const n = counter++;
        if (action === 'create') {
          if (pick % 2 === 0) pool.regions.push((await admin.create(project, 'Region', { name: `r-${n}`, spec: {} })).id);
          else pool.hosts.push((await admin.create(project, 'Host', { name: `h-${n}`, spec: {} })).id);
        } else if (action === 'patch') {
          const ids = [...pool.regions, ...pool.hosts];
          if (ids.length === 0) return;
          const id = ids[pick % ids.length];
          await admin.update(project, id.startsWith('host-') ? 'Host' : 'Region', id, { labels: { n: String(n) } });
        } else if (action === 'status') {
          if (pool.hosts.length === 0) return;
          await mgr.updateStatus(project, 'Host', pool.hosts[pick % pool.hosts.length], { hostStatus: { message: `m${n}`, indicator: 'idle', timestamp: new Date().toISOString() } });
        } else {
          if (pool.regions.length === 0) return;
          const [id] = pool.regions.splice(pick % pool.regions.length, 1);
          await admin.delete(project, 'Region', id);
        }
      };
      /** Runs ops in order; a run of `concurrent` ops is fired together. */
      const run = async (ops: Op[]) => {
        let group: Promise<void>[] = [];
        for (const o of ops) {
          const p = apply(o);
          if (o.concurrent) group.push(p);
          else {
            await Promise.all(group);
            group = [];
            await p;
          }
        }
        await Promise.all(group);
      };

      let runNo = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 8 }), fc.array(op, { maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(),
          async (before, after, where, fromNow) => {
            const end = `end-${runNo++}`;
            const base = await store.currentRevision();
            await run(before);
            const head = await store.currentRevision();
            const since = Math.min(head, Math.max(0, base - 3) + Math.floor(where * (head - Math.max(0, base - 3) + 1)));
            const signal = AbortSignal.timeout(10_000);
            const watching = collect(admin.watch({ project: 'alpha', since: fromNow ? undefined : since, signal, bookmarkMs: 60_000 }), (items) => {
              const last = items.at(-1)!;
              return last.type === 'event' && last.event().object.name === end;
            });
            await run(after);
            await admin.create('alpha', 'Region', { name: end, spec: {} });
            const seen = events(await watching);
            assert.ok(seen.length > 0 && seen.at(-1)!.event().object.name === end, `the watcher reached the end marker (saw ${seen.length} events)`);
            const got = seen.map((e) => [e.revision, e.json]);
            const from = fromNow ? seen[0].revision - 1 : since;
            if (fromNow) assert.ok(from >= head, `a watch from now starts at or after ${head}, it started after ${from}`);
            const log = await store.readEvents({ after: from, limit: 1000, project: 'alpha' });
            assert.deepEqual(got, log.map((e) => [e.revision, e.json]));
          }),
        { numRuns: dialect === 'postgres' ? 20 : 40 },
      );
    }));

  test(`${dialect}: watch isolation, bookmarks when idle, and revision_compacted at open`, (t) =>
    withInventory(
      t,
      dialect,
      async ({ svc, store, admin }) => {
        const signal = AbortSignal.timeout(15_000);
        const alphaOnly = svc.as({ subject: 'al', grants: [{ project: 'alpha', role: 'viewer' }] });
        await svc.ensureProject('alpha');
        await rejectsWith(openWatch(alphaOnly, { project: P, since: 0 }), 'not_found');
        await rejectsWith(openWatch(alphaOnly, { project: '*', since: 0 }), 'permission_denied');
        const alphaWatch = collect(alphaOnly.watch({ project: 'alpha', since: 0, signal }), (items) => items.at(-1)!.type === 'event' && items.length >= 3);
        for (let i = 0; i < 20; i++) await admin.create(i % 7 === 0 ? 'alpha' : P, 'Region', { name: `r${i}`, spec: {} });
        const alpha = events(await alphaWatch);
        assert.deepEqual(alpha.map((e) => e.revision), [1, 8, 15]);
        assert.ok(alpha.every((e) => e.event().project === 'alpha'));

        // Bookmarks: nothing to send for bookmarkMs, then { revision } to resume from.
        const head = await store.currentRevision();
        const it = admin.watch({ project: 'alpha', since: head, signal, bookmarkMs: 200 })[Symbol.asyncIterator]();
        const t0 = Date.now();
        const first = await it.next();
        const waited = Date.now() - t0;
        assert.deepEqual(first.value, { type: 'bookmark', revision: head });
        assert.ok(waited >= 150 && waited < 5000, `bookmark after ${waited} ms`);
        const other = await admin.create(P, 'Region', { name: 'not-alpha', spec: {} });
        const mine = await admin.create('alpha', 'Region', { name: 'alpha-2', spec: {} });
        const second = await it.next();
        assert.equal(second.value?.type, 'event');
        assert.equal(second.value?.revision, mine.revision, 'the other project\'s event was skipped');
        const third = await it.next();
        assert.deepEqual(third.value, { type: 'bookmark', revision: mine.revision });
        assert.ok(other.revision < mine.revision);
        await it.return?.();

        // Retention keeps the newest 5 events: older positions are gone.
        assert.equal(await svc.compact(), head + 2 - 5);
        const compacted = head + 2 - 5;
        for (const since of [0, 3, compacted - 1]) {
          await rejectsWith(openWatch(admin, { project: P, since }), 'revision_compacted', new RegExp(`revision ${since} is older`));
        }
        await rejectsWith(admin.events({ project: P, since: 0 }), 'revision_compacted');
        const edge = await collect(admin.watch({ project: '*', since: compacted, signal }), (items) => items.at(-1)!.revision >= head + 2);
        assert.deepEqual(events(edge).map((e) => e.revision), range(compacted + 1, head + 2), 'the oldest retained position still replays');
      },
      { retention: { minAgeMs: 0, minEvents: 5 }, now: () => new Date(Date.now() + 1000) },
    ));

  // 30,000 events on SQLite; 6,000 (still six rings) on PostgreSQL, where 30,000 inserts alone
  // take ~10 s on two cores and would push this file past its time budget.
  const TOTAL = dialect === 'postgres' ? 6_000 : 30_000;
  test(`${dialect}: a slow watcher behind the ring (1,000) gets all ${TOTAL.toLocaleString('en')} events in order from the log`, (t) =>
    withInventory(
      t,
      dialect,
      async ({ store, admin }) => {
        const PER_WRITE = 100;
        const start = await store.currentRevision();
        // Count the watcher's log reads: the lagging path (full pages for one project).
        let logReads = 0;
        const readEventPage = store.readEventPage.bind(store);
        store.readEventPage = (q: EventQuery): Promise<{ events: LoggedEvent[]; more: boolean }> => {
          if (q.project === P && q.limit === 1000) logReads++;
          return readEventPage(q);
        };

        let written = 0;
        let releaseReader!: () => void;
        const lagging = new Promise<void>((resolve) => (releaseReader = resolve));
        const problems: string[] = [];
        let received = 0;
        const signal = AbortSignal.timeout(25_000);
        const reader = (async () => {
          for await (const item of admin.watch({ project: P, since: start, signal })) {
            if (item.type !== 'event') continue;
            const want = start + received + 1;
            if (item.revision !== want && problems.length < 10) problems.push(`got ${item.revision}, expected ${want}`);
            received++;
            if (received === 1) await lagging; // fall far behind before reading on
            else if (received % 250 === 0) await sleep(1); // and stay slow
            if (received === TOTAL) break;
          }
        })();

        // Bulk writes straight through the store, 100 resources a write and 5 writes in flight (so
        // group commit joins them): the point is the watcher's path, and single creates through the
        // service are ten times slower.
        const write = (w: number) =>
          store.write(async (tx) => {
            for (let i = w * PER_WRITE; i < (w + 1) * PER_WRITE; i++) {
              const id = `region-${i.toString(16).padStart(8, '0')}`;
              await tx.insertIfFree({ kind: 'Region', id, project: P, name: `load-${i}`, labels: {}, generation: 1, spec: {}, status: {} }, 'load (admin)');
            }
          });
        for (let w = 0; w < TOTAL / PER_WRITE; w += 5) {
          await Promise.all(range(w, w + 4).map(write));
          written += 5 * PER_WRITE;
          if (written >= 5000) releaseReader(); // five rings behind
        }
        releaseReader();
        await reader;
        assert.deepEqual(problems, []);
        assert.equal(received, TOTAL, `received ${received} of ${TOTAL} events`);
        assert.ok(logReads > 0, 'the watcher fell behind the ring and read the log');
        assert.equal(await store.currentRevision(), start + TOTAL);
        assert.equal((await admin.list(P, 'Region', { pageSize: 1 })).totalSize, TOTAL);
      },
      { ringSize: 1000 },
    ));
}

test('a watch of one project and kind sleeps through the other commits, and its bookmark then names the newest revision', (t) =>
  withInventory(t, 'sqlite', async ({ svc, admin }) => {
    await svc.ensureProject('alpha');
    const signal = AbortSignal.timeout(10_000);
    const head = await svc.store.currentRevision();
    const it = admin.watch({ project: 'alpha', kinds: ['Host'], since: head, signal, bookmarkMs: 300 })[Symbol.asyncIterator]();
    const next = it.next();
    await sleep(20); // the stream is waiting
    await admin.create('alpha', 'Region', { name: 'other-kind', spec: {} });
    const last = await admin.create(P, 'Region', { name: 'other-project', spec: {} });
    assert.deepEqual((await next).value, { type: 'bookmark', revision: last.revision }, 'a bookmark at the newest revision, after the events it skipped');
    const host = await admin.create('alpha', 'Host', { name: 'h', spec: {} });
    const mine = await it.next();
    assert.equal(mine.value?.type, 'event');
    assert.equal(mine.value?.revision, host.revision);
    await it.return?.();
  }));

test('in-process watches reading one event share one parsed copy of it, and the shared copies are bounded', (t) =>
  withInventory(t, 'sqlite', async ({ svc, admin }) => {
    const signal = AbortSignal.timeout(20_000);
    const head = await svc.store.currentRevision();
    const a = admin.watch({ project: P, kinds: ['Region'], since: head, signal })[Symbol.asyncIterator]();
    const b = admin.watch({ project: P, since: head, signal })[Symbol.asyncIterator]();
    const region = await admin.create(P, 'Region', { name: 'shared', spec: {} });
    const [ia, ib] = [(await a.next()).value, (await b.next()).value];
    assert.ok(ia?.type === 'event' && ib?.type === 'event');
    const [ea, eb] = [ia.event(), ib.event()];
    assert.equal(ea, eb, 'one parsed object for both watches');
    assert.deepEqual(ea, JSON.parse(ia.json));
    assert.equal(ea.object.id, region.id);
    // Bounded: many more events than are kept; each still parses right.
    const n = 2100;
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => admin.create(P, 'Region', { name: `r-${i + j}`, spec: {} })));
    let read = 0;
    for (;;) {
      const item = (await a.next()).value;
      if (item?.type !== 'event') continue;
      assert.equal(item.event().revision, item.revision);
      if (++read === n) break;
    }
    const kept = (svc as unknown as { parsed: Map<unknown, unknown> }).parsed.size;
    assert.ok(kept > 0 && kept <= 2048, `${kept} parsed events kept`);
    await a.return?.();
    await b.return?.();
  }));
