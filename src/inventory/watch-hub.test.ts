import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../store/index.ts';
import { WatchHub } from './watch-hub.ts';

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
