import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EimError } from '../api/index.ts';
import type { LoggedEvent, Store } from '../store/index.ts';
import { WatchHub, type WatchHubOptions } from './watch-hub.ts';

test('waitForChange returns at once for a signal aborted before the call (the abort event has gone by)', async () => {
  const hub = new WatchHub({} as Store); // waiting touches no store
  const ac = new AbortController();
  ac.abort();
  const t0 = Date.now();
  assert.equal(await hub.waitForChange(5_000, ac.signal), false);
  assert.ok(Date.now() - t0 < 1_000, `returned after ${Date.now() - t0} ms`);
  // An abort during the wait ends it too.
  const ac2 = new AbortController();
  const waiting = hub.waitForChange(5_000, ac2.signal);
  setTimeout(() => ac2.abort(), 10);
  const t1 = Date.now();
  assert.equal(await waiting, false);
  assert.ok(Date.now() - t1 < 1_000);
});

/** A hub over a store stand-in: `commit(events)` is a local commit of them. */
async function hubWithCommits(options: WatchHubOptions = {}, readEventPage: Store['readEventPage'] = async () => ({ events: [], more: false })) {
  let commit!: (events: LoggedEvent[]) => void;
  let remote!: (revision?: number) => void;
  const store = {
    currentRevision: async () => 0,
    onCommit: (fn: (events: LoggedEvent[]) => void) => (commit = fn),
    onRemoteCommit: (fn: (revision?: number) => void) => (remote = fn),
    readEventPage,
  } as unknown as Store;
  const hub = new WatchHub(store, options);
  await hub.start();
  let revision = 0;
  const event = (project: string, kind: string): LoggedEvent => ({ revision: ++revision, project, kind, id: `x-${String(revision).padStart(8, '0')}`, type: 'CREATED', json: '{}' });
  return { hub, commit: (...events: [string, string][]) => commit(events.map(([p, k]) => event(p, k))), remote: (revision?: number) => remote(revision) };
}

test('a waiter with an interest sleeps through the commits it would skip and wakes for its own; one without, for any; close wakes all', async () => {
  const { hub, commit } = await hubWithCommits();
  const woke: string[] = [];
  const hostsOfA = hub.waitForChange(5_000, undefined, (e) => e.project === 'a' && e.kind === 'Host').then((v) => woke.push(`hostsOfA:${v}`));
  const any = hub.waitForChange(5_000).then((v) => woke.push(`any:${v}`));
  commit(['b', 'Host'], ['a', 'Site']);
  await any;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(woke, ['any:true'], 'the other project and the other kind did not wake the interested waiter');
  assert.equal(hub.last, 2);
  commit(['b', 'Site'], ['a', 'Host']);
  await hostsOfA;
  assert.deepEqual(woke, ['any:true', 'hostsOfA:true']);
  const closing = hub.waitForChange(5_000, undefined, () => false).then(() => 'ended');
  hub.close();
  const late = new Promise((r) => setTimeout(() => r('still waiting'), 1_000).unref());
  assert.equal(await Promise.race([closing, late]), 'ended', 'close ends a wait whatever its interest');
});

test('a sleeping waiter is woken before the ring forgets its position, so it reads on from memory', async () => {
  const { hub, commit } = await hubWithCommits({ ringSize: 10 });
  for (let i = 0; i < 10; i++) commit(['b', 'Host']); // a full ring
  const position = hub.last;
  let wokeAt: { floor: number; last: number } | undefined;
  const waiting = hub.waitForChange(5_000, undefined, (e) => e.project === 'a', position).then((v) => (wokeAt = { floor: hub.ringFloor, last: hub.last }) && v);
  for (let i = 0; i < 30 && !wokeAt; i++) {
    commit(['b', 'Host']);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await waiting, true, 'woken although no event of its own came');
  assert.ok(wokeAt!.floor <= position && wokeAt!.last > position, `woken while its position (${position}) was still in the ring (${wokeAt!.floor}…${wokeAt!.last})`);
  assert.notEqual(hub.read(position, 100), undefined, 'it reads on from memory');
  hub.close();
});

test('waiters behind a jump over compacted revisions are woken at once, to read the log and get their 410', async () => {
  // Asleep longer than retention (another server compacted): the next read of the log says so.
  let compacted = false;
  const { hub, commit, remote } = await hubWithCommits({}, async () => {
    if (!compacted) return { events: [], more: false };
    compacted = false;
    throw new EimError('revision_compacted', 'compacted', { details: { compactedRevision: 50 } });
  });
  commit(['b', 'Host'], ['b', 'Host']);
  const woke: string[] = [];
  const filtered = hub.waitForChange(5_000, undefined, (e) => e.project === 'a', hub.last).then((v) => woke.push(`filtered:${v}`));
  const any = hub.waitForChange(5_000, undefined, undefined, hub.last).then((v) => woke.push(`any:${v}`));
  compacted = true;
  remote(60);
  const late = new Promise((r) => setTimeout(() => r('still waiting'), 1_000).unref());
  assert.equal(await Promise.race([Promise.all([filtered, any]).then(() => 'woken'), late]), 'woken', 'both woken without waiting out their timeout');
  assert.deepEqual(woke.sort(), ['any:true', 'filtered:true']);
  assert.equal(hub.last, 50);
  assert.equal(hub.read(2, 100), undefined, 'their position is no longer in memory: they read the log');
  hub.close();
});
