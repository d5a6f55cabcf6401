import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_PROJECTS, newId } from '../../api/index.ts';
import { Informer } from '../../client/index.ts';
import { InventoryService } from '../../inventory/index.ts';
import { FakeClock } from '../../reconcile/index.ts';
import { openTestStore } from '../../testing/test-stores.ts';
import { ADMIN, MANAGER, sleep, until } from '../testing/manager-harness.ts';
import { type CommandResource, CommandTracker, hostOwner } from './command-tracker.ts';
import { RetryTimer } from './retry-timer.ts';

test('CommandTracker: one command per owner and type, even across trackers whose caches lag; own writes are no news', async () => {
  const ts = await openTestStore('sqlite');
  const svc = new InventoryService(ts.store);
  const informers: Informer<'Command', CommandResource>[] = [];
  try {
    await svc.start();
    await svc.ensureProject('default');
    const mgr = svc.as(MANAGER);
    const host = await svc.as(ADMIN).create('default', 'Host', { name: 'h', spec: { desiredState: 'onboarded' } });
    const tracker = (started: boolean) => {
      const i = new Informer<'Command', CommandResource>({ inventory: mgr, project: ALL_PROJECTS, kind: 'Command' });
      informers.push(i);
      if (started) i.start();
      return new CommandTracker(mgr, i);
    };
    const a = tracker(true);
    const b = tracker(false); // a second manager process that has not seen anything yet
    await a.informer.synced;
    const woken: string[] = [];
    a.onOwnerChange((id) => woken.push(id));

    const req = { project: 'default', hostId: host.id, type: 'power' as const, params: { state: 'off' }, ownerId: host.id };
    const first = await a.create(req);
    assert.equal(first.name, `${host.id}-power`);
    assert.equal(a.find(hostOwner(host), 'power')?.id, first.id, 'visible at once, before the cache has it');
    const second = await b.create(req);
    assert.equal(second.id, first.id, 'the name conflict hands back the existing command');
    assert.equal((await mgr.list('default', 'Command')).totalSize, 1);

    await until(() => a.informer.get(first.id), 'cached');
    await sleep(50);
    assert.deepEqual(woken, [], 'our own create wakes nobody');
    await mgr.updateStatus('default', 'Command', first.id, { state: 'running', progress: 10 });
    await until(() => woken.length === 1, 'the answer wakes the owner');
    assert.deepEqual(woken, [host.id]);

    await a.remove(first);
    assert.equal(a.find(hostOwner(host), 'power'), undefined, 'hidden at once, before the cache drops it');
    await until(() => !a.informer.get(first.id), 'dropped from the cache');
    await sleep(50);
    assert.deepEqual(woken, [host.id], 'our own delete wakes nobody');
    await a.remove(first); // gone already: fine
    assert.deepEqual(a.counters, { created: 1, deleted: 1 });
  } finally {
    for (const i of informers) await i.stop();
    await svc.stop();
    await ts.cleanup();
  }
});

test('CommandTracker: a command matches its owner only in its own project and on its own host', async () => {
  const ts = await openTestStore('sqlite');
  const svc = new InventoryService(ts.store);
  const informer = new Informer<'Command', CommandResource>({ inventory: svc.as(MANAGER), project: ALL_PROJECTS, kind: 'Command' });
  try {
    await svc.start();
    for (const p of ['a', 'b']) await svc.ensureProject(p);
    const admin = svc.as(ADMIN);
    const hostA = await admin.create('a', 'Host', { name: 'h', spec: { desiredState: 'onboarded' } });
    const hostB = await admin.create('b', 'Host', { name: 'h', spec: { desiredState: 'onboarded' } });
    const hostB2 = await admin.create('b', 'Host', { name: 'h2', spec: { desiredState: 'onboarded' } });
    informer.start();
    await informer.synced;
    const tracker = new CommandTracker(svc.as(MANAGER), informer);
    // Commands that name host A as their owner from elsewhere: another project, another host. The
    // write policy refuses them now; these stand for any that got into the store before it did.
    for (const [project, hostId, name] of [['b', hostB.id, 'x'], ['a', hostB2.id, 'y']] as const) {
      await ts.store.write((tx) =>
        tx.insertIfFree({ kind: 'Command', id: newId('cmd'), project, name, labels: {}, generation: 1, spec: { hostId, type: 'power', params: {}, ownerId: hostA.id }, status: { state: 'succeeded' } }, 't'),
      );
    }
    await until(() => informer.size === 2, 'both cached');
    assert.equal(tracker.find(hostOwner(hostA), 'power'), undefined);
    assert.deepEqual(tracker.ownedBy(hostOwner(hostA)), []);
    const real = await tracker.create({ project: 'a', hostId: hostA.id, type: 'power', params: { state: 'on' }, ownerId: hostA.id });
    assert.equal(tracker.find(hostOwner(hostA), 'power')?.id, real.id);
    await tracker.removeAll(hostOwner(hostA));
    await until(() => informer.size === 2, 'only its own removed');
    await tracker.removeOrphaned(hostA.id);
    await until(() => informer.size === 0, 'an owner gone: every command naming it');
  } finally {
    await informer.stop();
    await svc.stop();
    await ts.cleanup();
  }
});

test('RetryTimer: delays grow per resource, and a new generation starts over', () => {
  const clock = new FakeClock();
  const t = new RetryTimer(clock, { baseMs: 100, jitter: 0 });
  assert.equal(t.waitMs('x', 1), 0);
  assert.deepEqual(t.failed('x', 1), { attempt: 1, delayMs: 100 });
  assert.equal(t.waitMs('x', 1), 100);
  clock.advance(60);
  assert.equal(t.waitMs('x', 1), 40);
  assert.deepEqual(t.failed('x', 1), { attempt: 2, delayMs: 200 });
  assert.deepEqual(t.failed('y', 1), { attempt: 1, delayMs: 100 }, 'per resource');
  assert.equal(t.waitMs('x', 2), 0, 'the spec changed: no wait');
  assert.deepEqual(t.failed('x', 2), { attempt: 1, delayMs: 100 });
  t.forget('x');
  t.forget('y');
  assert.equal(t.size, 0);
});
