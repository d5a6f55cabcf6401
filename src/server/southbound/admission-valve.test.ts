import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryAfterDelay } from '../../client/index.ts';
import { AdmissionValve } from './admission-valve.ts';

test('AdmissionValve admits up to its limit, refuses the next with rate_limited, and sizes Retry-After to refusals over completions', () => {
  let now = 10_000;
  const valve = new AdmissionValve(2, 'enrolments', 30, () => now);
  const a = valve.enter();
  const b = valve.enter();
  assert.throws(() => valve.enter(), (e: { code?: string; details?: { retryAfterSeconds?: number } }) => e.code === 'rate_limited' && e.details?.retryAfterSeconds === 1);
  a();
  a(); // twice is once
  assert.equal(valve.running, 1);
  const c = valve.enter();
  // 1 completion in the window; 9 more refusals: Retry-After grows with the backlog it turned away.
  let last = 0;
  for (let i = 0; i < 9; i++) {
    try {
      valve.enter();
      assert.fail('admitted past the limit');
    } catch (e) {
      last = (e as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds;
    }
  }
  assert.equal(last, 10);
  // Two seconds later the window has moved on: back to 1 s.
  now += 2500;
  b();
  c();
  assert.doesNotThrow(() => valve.enter());
  assert.doesNotThrow(() => valve.enter());
  assert.throws(() => valve.enter(), (e: { details?: { retryAfterSeconds?: number } }) => e.details?.retryAfterSeconds === 1);
  assert.throws(() => new AdmissionValve(0, 'x'), RangeError);
});

test('AdmissionValve with weights: calls in flight weigh at most the limit together; one call alone always gets in; leaving gives its weight back', () => {
  const valve = new AdmissionValve(100, 'bytes');
  const a = valve.enter(60);
  assert.throws(() => valve.enter(41), (e: { code?: string }) => e.code === 'rate_limited');
  const b = valve.enter(40);
  assert.equal(valve.running, 100);
  assert.throws(() => valve.enter(1));
  a();
  a();
  assert.equal(valve.running, 40);
  b();
  const big = valve.enter(500); // alone: in, however heavy
  assert.throws(() => valve.enter(1));
  big();
  assert.equal(valve.running, 0);
});

test('retryAfterDelay: never sooner than Retry-After, at most half as long again, 0 without it', () => {
  const e = { details: { retryAfterSeconds: 2 } };
  assert.equal(retryAfterDelay(e, () => 0), 2000);
  assert.equal(retryAfterDelay(e, () => 0.999999), 3000);
  assert.equal(retryAfterDelay({}, () => 0.5), 0);
  assert.equal(retryAfterDelay({ details: { retryAfterSeconds: 'x' } }), 0);
});
