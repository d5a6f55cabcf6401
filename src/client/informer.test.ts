import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_PROJECTS, type Inventory, type Resource } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { buildApp } from '../server/app.ts';
import { TokenService } from '../server/auth/token-service.ts';
import { openTestStore, type TestStore } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { Informer } from './informer.ts';
import { InventoryClient } from './inventory-client.ts';

// The informer over HTTP (InventoryClient against an in-process server on a real socket): the
// first list, handlers for later writes, filters, a frozen cache, and the relist that follows
// compaction past its position.

const P = 'default';

type Call = ['add' | 'delete', string, number] | ['update', string, number, number];

/** Records every handler call as [what, id, revision] (update: [.., old revision, new revision]). */
function recorder(informer: Informer<'Region'>): Call[] {
  const calls: Call[] = [];
  informer.on({
    add: (o) => calls.push(['add', o.id, o.revision]),
    update: (old, o) => {
      assert.equal(old.id, o.id);
      calls.push(['update', o.id, old.revision, o.revision]);
    },
    delete: (o) => calls.push(['delete', o.id, o.revision]),
  });
  return calls;
}

/** For `until`: the checks read the informers' caches. */
const POLL = { intervalMs: 10 };

const byId = (a: Resource, b: Resource) => a.id.localeCompare(b.id);
const sortCalls = (calls: Call[]) => [...calls].sort((a, b) => `${a[0]} ${a[1]}`.localeCompare(`${b[0]} ${b[1]}`));

describe('Informer over HTTP', () => {
  let ts: TestStore;
  let svc: InventoryService;
  let tokens: TokenService;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let port = 0;
  let client: InventoryClient;
  /** Writes in-process as an admin: they work while the HTTP server is down, too. */
  let admin: Inventory;
  const informers: Informer<'Region'>[] = [];

  const listen = async () => {
    app = await buildApp({ inventory: svc, tokens });
    const url = await app.listen({ port, host: '127.0.0.1' });
    port = Number(new URL(url).port);
    return url;
  };
  const informer = (filter?: string) => {
    const i = new Informer({ inventory: client, project: P, kind: 'Region', filter, retryDelayMs: 50, onHandlerError: (e) => assert.fail(`a handler failed: ${String(e)}`) });
    informers.push(i);
    return i;
  };
  const region = (name: string, labels: Record<string, string> = {}) => admin.create(P, 'Region', { name, labels, spec: {} });

  before(async () => {
    ts = await openTestStore('sqlite');
    // Keep only the newest event when compacting, so compact() can pass any informer by.
    svc = new InventoryService(ts.store, { retention: { minAgeMs: 0, minEvents: 1 } });
    await svc.start();
    await svc.ensureProject(P);
    tokens = await TokenService.open({ auth: ts.store.auth });
    const issued = await tokens.issue({ subject: 'admin', grants: [{ project: ALL_PROJECTS, role: 'admin' }] });
    admin = svc.as(await tokens.verify(issued.token));
    const viewer = await tokens.issue({ subject: 'reader', grants: [{ project: P, role: 'viewer' }] });
    client = new InventoryClient({ server: await listen(), token: viewer.token });
  });
  after(async () => {
    for (const i of informers) await i.stop();
    client.close();
    await app.close();
    await svc.stop();
    tokens.stop();
    await ts.cleanup();
  });

  test('synced follows the first list; later writes fire add/update/delete once each, in order', async () => {
    const existing = [];
    for (let i = 0; i < 5; i++) existing.push(await region(`pre-${i}`));
    const inf = informer();
    const calls = recorder(inf);
    inf.start();
    await inf.synced;
    assert.deepEqual(inf.list().sort(byId), [...existing].sort(byId), 'every existing item is cached at synced');
    assert.equal(inf.size, 5);
    assert.deepEqual(sortCalls(calls), sortCalls(existing.map((r) => ['add', r.id, r.revision])), 'the first list is reported as adds');
    calls.length = 0;

    const a = await region('later-a');
    const a2 = await admin.update(P, 'Region', a.id, { labels: { step: '2' } });
    const p0 = await admin.update(P, 'Region', existing[0].id, { name: 'pre-0-renamed' });
    const b = await region('later-b');
    const gone = await admin.delete(P, 'Region', existing[1].id);
    const a3 = await admin.update(P, 'Region', a.id, { labels: { step: '3' } });
    await until(() => inf.revision >= a3.revision, `the informer reached revision ${a3.revision}`, POLL);
    await sleep(100); // room for a duplicate to show up
    assert.deepEqual(calls, [
      ['add', a.id, a.revision],
      ['update', a.id, a.revision, a2.revision],
      ['update', p0.id, existing[0].revision, p0.revision],
      ['add', b.id, b.revision],
      ['delete', existing[1].id, gone.resource.revision],
      ['update', a.id, a2.revision, a3.revision],
    ]);
    assert.deepEqual(inf.get(a.id), a3);
    assert.equal(inf.get(existing[1].id), undefined);
    assert.deepEqual(inf.list().sort(byId), (await client.listAll(P, 'Region')).items.sort(byId));
  });

  test('a filter keeps only matching objects and reports a delete when one stops matching', async () => {
    const e1 = await region('edge-1', { tier: 'edge' });
    const c1 = await region('core-1', { tier: 'core' });
    const inf = informer('labels.tier = edge');
    const calls = recorder(inf);
    await inf.start().synced;
    assert.deepEqual(inf.list(), [e1]);
    calls.length = 0;

    const e2 = await region('edge-2', { tier: 'edge' });
    const c2 = await region('core-2', { tier: 'core' });
    const c1Edge = await admin.update(P, 'Region', c1.id, { labels: { tier: 'edge' } });
    const e1Core = await admin.update(P, 'Region', e1.id, { labels: { tier: 'core' } });
    const c2b = await admin.update(P, 'Region', c2.id, { labels: { other: 'x' } });
    const e2Gone = await admin.delete(P, 'Region', e2.id);
    await until(() => inf.revision >= e2Gone.resource.revision, 'the informer saw the last write', POLL);
    await sleep(100);
    assert.deepEqual(calls, [
      ['add', e2.id, e2.revision],
      ['add', c1.id, c1Edge.revision],
      ['delete', e1.id, e1.revision], // its last matching state
      ['delete', e2.id, e2Gone.resource.revision],
    ]);
    assert.ok(c2b.revision < e2Gone.resource.revision && !calls.some((c) => c[1] === c2.id), 'non-matching writes stay unheard');
    assert.deepEqual(inf.list(), [c1Edge]);
    assert.equal(inf.get(e1Core.id), undefined);
  });

  test('cached objects are frozen', async () => {
    const r = await region('frozen', { tier: 'ice' });
    const inf = informer('labels.tier = ice');
    let handed: Resource | undefined;
    inf.on({ add: (o) => (handed = o) });
    await inf.start().synced;
    const cached = inf.get(r.id)!;
    assert.equal(handed, cached, 'handlers get the cached object itself');
    assert.throws(() => ((cached as { name: string }).name = 'thawed'), TypeError);
    assert.throws(() => ((cached.labels as Record<string, string>).tier = 'water'), TypeError);
    assert.throws(() => ((cached.spec as Record<string, unknown>).parentRegionId = 'region-00000000'), TypeError);
    assert.throws(() => delete (cached.labels as Record<string, string>).tier, TypeError);
    assert.equal(inf.get(r.id)!.labels.tier, 'ice');
    assert.ok(inf.list().every((o) => Object.isFrozen(o) && Object.isFrozen(o.status)));
  });

  test('after compaction past its position it relists and reports the difference', async () => {
    const keep = await region('cmp-keep', { cmp: 'yes', tier: 'metal' });
    const change = await region('cmp-change', { cmp: 'yes', tier: 'metal' });
    const drop = await region('cmp-drop', { cmp: 'yes', tier: 'metal' });
    const unmatch = await region('cmp-unmatch', { cmp: 'yes', tier: 'metal' });
    const all = informer('labels.cmp = yes');
    const metal = informer('labels.tier = metal');
    const allCalls = recorder(all);
    const metalCalls = recorder(metal);
    await Promise.all([all.start().synced, metal.start().synced]);
    assert.equal(all.size, 4);
    assert.equal(metal.size, 4);
    allCalls.length = 0;
    metalCalls.length = 0;
    const position = all.revision;

    // The server goes away: both informers lose their watch and keep retrying.
    await app.close();
    const changed1 = await admin.update(P, 'Region', change.id, { labels: { step: '1' } });
    const changed2 = await admin.update(P, 'Region', change.id, { labels: { step: '2' } });
    await admin.delete(P, 'Region', drop.id);
    const unmatched = await admin.update(P, 'Region', unmatch.id, { labels: { tier: 'wood' } });
    const added = await region('cmp-added', { cmp: 'yes', tier: 'metal' });
    await region('cmp-filler', { other: 'x' }); // the one event compaction keeps
    await sleep(5); // compaction takes events strictly older than now
    const compacted = await svc.compact();
    assert.ok(compacted > position, `compacted to ${compacted}, past the informers at ${position}`);
    assert.equal(changed1.revision + 1, changed2.revision);
    await listen();

    const fresh = async (filter: string) => (await client.listAll(P, 'Region', { filter })).items.sort(byId);
    const wantAll = await fresh('labels.cmp = yes');
    const wantMetal = await fresh('labels.tier = metal');
    const same = (inf: Informer<'Region'>, want: Resource[]) => JSON.stringify(inf.list().sort(byId)) === JSON.stringify(want);
    await until(() => same(all, wantAll) && same(metal, wantMetal), 'both caches equal a fresh list', POLL);
    await sleep(150); // room for anything reported twice
    assert.deepEqual(all.list().sort(byId), wantAll);
    assert.deepEqual(metal.list().sort(byId), wantMetal);

    // One call per difference: `change` was written twice while away but is one update.
    assert.deepEqual(sortCalls(allCalls), sortCalls([
      ['update', change.id, change.revision, changed2.revision],
      ['delete', drop.id, drop.revision],
      ['update', unmatch.id, unmatch.revision, unmatched.revision],
      ['add', added.id, added.revision],
    ]));
    assert.deepEqual(sortCalls(metalCalls), sortCalls([
      ['update', change.id, change.revision, changed2.revision],
      ['delete', drop.id, drop.revision],
      ['delete', unmatch.id, unmatch.revision],
      ['add', added.id, added.revision],
    ]));
    assert.deepEqual(metal.get(keep.id), keep);
    assert.ok(all.revision >= compacted, 'it watches on from the new list');

    // And it keeps watching after the relist.
    const later = await admin.update(P, 'Region', keep.id, { labels: { step: 'after' } });
    await until(() => all.get(keep.id)?.revision === later.revision && metal.get(keep.id)?.revision === later.revision, 'the write after the relist arrived', POLL);
  });
});
