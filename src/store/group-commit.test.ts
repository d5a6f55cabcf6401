import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit, type Pending } from './group-commit.ts';

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
