import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedCounts } from './keyed-counts.ts';

test('KeyedCounts: add gives back once however often its function is called; increment and decrement count the same', () => {
  const c = new KeyedCounts();
  const release = c.add('a');
  c.increment('a');
  c.increment('b');
  assert.deepEqual([c.held('a'), c.held('b')], [2, 1]);
  release();
  release();
  assert.equal(c.held('a'), 1);
  c.decrement('a');
  c.decrement('a'); // holds nothing: stays at nothing
  assert.equal(c.held('a'), 0);
  c.increment('a');
  assert.equal(c.held('a'), 1, 'a key given back below nothing counts from nothing again');
  c.decrement('b');
  assert.equal((c as unknown as { byKey: Map<string, number> }).byKey.size, 1, 'no entry for a key that holds nothing');
});
