import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from './clock.ts';
import { WorkQueue } from './work-queue.ts';

/** Lets resolved promises run their continuations. */
const flush = () => new Promise<void>((r) => setImmediate(r));

test('a key waiting is queued once however often it is added; order is FIFO', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  for (const k of ['a', 'b', 'a', 'a', 'c', 'b']) q.add(k);
  assert.equal(q.len, 3);
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
  assert.equal(q.len, 0);
  assert.equal(q.inProgress, 3);
});

test('a key added while processing is handed out again only after done', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('a');
  assert.equal(await q.get(), 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len, 0, 'not queued while a worker holds it');
  let second: string | undefined;
  void q.get().then((k) => (second = k));
  await flush();
  assert.equal(second, undefined, 'a second worker must not get it');
  q.done('a');
  await flush();
  assert.equal(second, 'a');
  q.done('a');
  assert.equal(q.len, 0, 'added twice while processing: processed once more, not twice');
});

test('get waits for a key; shutDown answers waiting and later gets with undefined and drops new adds', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const waiting = [q.get(), q.get()];
  q.add('x');
  assert.equal(await waiting[0], 'x');
  q.shutDown();
  assert.equal(await waiting[1], undefined);
  q.add('y');
  assert.equal(await q.get(), undefined);
  assert.equal(q.len, 0);
  assert.equal(q.shuttingDown, true);
});

test('addAfter adds on the clock; the earliest pending delay per key wins; shutDown cancels timers', async () => {
  const clock = new FakeClock(0);
  const q = new WorkQueue({ clock });
  q.addAfter('a', 1000);
  q.addAfter('a', 5000);
  q.addAfter('b', 3000);
  q.addAfter('b', 2000);
  q.addAfter('c', 0);
  assert.equal(q.len, 1, 'no delay: added at once');
  assert.equal(q.waiting, 2);
  clock.advance(999);
  assert.equal(q.len, 1);
  clock.advance(1);
  assert.equal(q.len, 2);
  clock.advance(1000);
  assert.equal(q.len, 3);
  assert.equal(clock.pending, 0, 'the superseded timers were cleared');
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ['c', 'a', 'b']);
  q.addAfter('d', 100);
  q.shutDown();
  assert.equal(clock.pending, 0);
});

test('addRateLimited: delays grow per failure and reset after forget', async () => {
  const clock = new FakeClock(0);
  const q = new WorkQueue({ clock, backoff: { random: () => 0.5 } });
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    q.addRateLimited('k');
    delays.push(clock.nextDelay()!);
    clock.advanceToNext();
    assert.equal(await q.get(), 'k');
    q.done('k');
  }
  assert.deepEqual(delays, [1000, 2000, 4000]);
  assert.equal(q.attempts('k'), 3);
  q.forget('k');
  q.addRateLimited('k');
  assert.equal(clock.nextDelay(), 1000);
});

type Op = { op: 'add'; key: number } | { op: 'get'; worker: number } | { op: 'done'; worker: number } | { op: 'addAfter'; key: number; ms: number } | { op: 'tick'; ms: number };

test('property: random interleavings never give one key to two workers, never lose an add, never duplicate', async () => {
  const KEYS = 4;
  const WORKERS = 3;
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), key: fc.nat(KEYS - 1) }),
    fc.record({ op: fc.constant('get' as const), worker: fc.nat(WORKERS - 1) }),
    fc.record({ op: fc.constant('done' as const), worker: fc.nat(WORKERS - 1) }),
    fc.record({ op: fc.constant('addAfter' as const), key: fc.nat(KEYS - 1), ms: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 60 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const clock = new FakeClock(0);
      const q = new WorkQueue<number>({ clock });
      // Per worker: idle, waiting on get(), or holding a key.
      const held: (number | undefined)[] = Array(WORKERS).fill(undefined);
      const asking = Array<boolean>(WORKERS).fill(false);
      let step = 0;
      const lastAdd = new Map<number, number>(); // key → step of its latest add (direct or timer)
      const lastHandOut = new Map<number, number>();
      let adds = 0;
      let handOuts = 0;
      const violations: string[] = [];
      const noteAdd = (key: number) => (lastAdd.set(key, step), adds++);
      const ask = (w: number) => {
        asking[w] = true;
        void q.get().then((k) => {
          asking[w] = false;
          if (k === undefined) return;
          if (held.includes(k)) violations.push(`key ${k} handed to worker ${w} while worker ${held.indexOf(k)} holds it`);
          held[w] = k;
          lastHandOut.set(k, step);
          handOuts++;
        });
      };
      const pendingAfter = new Map<number, number>(); // key → when its delayed add is due
      const apply = async (o: Op) => {
        step++;
        if (o.op === 'add') (noteAdd(o.key), q.add(o.key));
        else if (o.op === 'addAfter') {
          const due = clock.now() + o.ms;
          if (!(pendingAfter.get(o.key)! <= due)) pendingAfter.set(o.key, due);
          q.addAfter(o.key, o.ms);
        } else if (o.op === 'tick') {
          for (const [k, due] of pendingAfter) if (due <= clock.now() + o.ms) (noteAdd(k), pendingAfter.delete(k));
          clock.advance(o.ms);
        } else if (o.op === 'get') {
          if (held[o.worker] === undefined && !asking[o.worker]) ask(o.worker);
        } else if (held[o.worker] !== undefined) {
          const k = held[o.worker]!;
          held[o.worker] = undefined;
          q.done(k);
        }
        await flush();
        assert.deepEqual(violations, []);
        const holding = held.filter((k) => k !== undefined);
        assert.equal(new Set(holding).size, holding.length, 'a key is held by two workers');
        assert.equal(q.inProgress, holding.length);
      };
      for (const o of ops) await apply(o);
      // Drain: fire delayed adds, then let every worker finish and ask again until nothing is left.
      await apply({ op: 'tick', ms: 1000 });
      for (let round = 0; round < 4 * KEYS + 4; round++) {
        for (let w = 0; w < WORKERS; w++) await apply({ op: 'done', worker: w });
        for (let w = 0; w < WORKERS; w++) await apply({ op: 'get', worker: w });
      }
      assert.equal(q.len, 0);
      for (const [k, at] of lastAdd) assert.ok((lastHandOut.get(k) ?? -1) >= at, `key ${k} added at step ${at} was never handed out after`);
      assert.ok(handOuts <= adds, `${handOuts} hand-outs for ${adds} adds: a key was queued twice`);
      q.shutDown();
      await flush();
    }),
    { numRuns: 300 },
  );
});
