import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit, type Pending } from './group-commit.ts';

test('group commit: while ready() is pending no batch is taken, and the writes of the meantime commit as one batch after it; a rejected ready() counts as settled', async () => {
  const batches: number[][] = [];
  let gate: Promise<void> | undefined;
  const gc = new GroupCommit<number>(async (batch: Pending<number>[]) => {
    batches.push(batch.map((p) => p.run));
    for (const p of batch) p.resolve(p.run);
  }, 512, () => gate);
  assert.equal(await gc.submit(1), 1);
  let open!: () => void;
  gate = new Promise<void>((r) => (open = r));
  const later = [2, 3, 4].map((n) => gc.submit(n));
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches, [[1]], 'nothing committed while ready() is pending');
  gate = undefined;
  open();
  assert.deepEqual(await Promise.all(later), [2, 3, 4]);
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
  // A failed wait (a failed sync, say) is the committer's signal to go on, not an error of its own.
  gate = Promise.reject(new Error('sync failed'));
  assert.equal(await gc.submit(5), 5);
  gate = undefined;
  assert.deepEqual(batches.at(-1), [5]);
});

test('group commit: idle() resolves once every write submitted before it is answered', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const answered: number[] = [];
  const gc = new GroupCommit<number>(async (batch: Pending<number>[]) => {
    await held;
    for (const p of batch) {
      answered.push(p.run);
      p.resolve(p.run);
    }
  }, 2);
  const writes = [1, 2, 3, 4, 5].map((n) => gc.submit(n));
  let idle = false;
  const done = gc.idle().then(() => (idle = true));
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  assert.equal(idle, false, 'a commit is still running');
  release();
  await done;
  assert.deepEqual(answered, [1, 2, 3, 4, 5], 'all five, in three batches of at most two, before idle()');
  await Promise.all(writes);
  await gc.idle(); // and at once when nothing runs
});
