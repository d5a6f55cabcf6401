import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from './clock.ts';
import { RateLimiter } from './rate-limiter.ts';

const noJitter = { random: () => 0.5 };

test('within the burst the per-key backoff decides', () => {
  const rl = new RateLimiter({ clock: new FakeClock(0), backoff: noJitter });
  assert.equal(rl.when('a'), 1000);
  assert.equal(rl.when('a'), 2000);
  assert.equal(rl.when('b'), 1000);
  assert.equal(rl.attempts('a'), 2);
  rl.forget('a');
  assert.equal(rl.when('a'), 1000);
});

test('past the burst the bucket spaces retries at qps, and refills with time', () => {
  const clock = new FakeClock(0);
  const rl = new RateLimiter({ clock, qps: 10, burst: 3, backoff: { baseMs: 1, maxMs: 1, jitter: 0 } });
  const first = ['a', 'b', 'c', 'd', 'e'].map((k) => rl.when(k));
  assert.deepEqual(first, [1, 1, 1, 100, 200]);
  clock.advance(300); // 3 tokens of refill pay back the 2 reserved ahead
  assert.deepEqual(['f', 'g'].map((k) => rl.when(k)), [1, 100]);
  clock.advance(10_000); // a long idle refills only up to the burst
  assert.deepEqual(['h', 'i', 'j', 'k'].map((k) => rl.when(k)), [1, 1, 1, 100]);
});

test('when = max(backoff, bucket)', () => {
  const clock = new FakeClock(0);
  const rl = new RateLimiter({ clock, qps: 1, burst: 1, backoff: noJitter });
  assert.equal(rl.when('a'), 1000); // backoff 1000, bucket 0
  assert.equal(rl.when('b'), 1000); // backoff 1000, bucket 1000
  assert.equal(rl.when('c'), 2000); // backoff 1000, bucket 2000
  assert.equal(rl.when('a'), 3000); // backoff 2000, bucket 3000
});

test('defaults are 50 qps with a burst of 300', () => {
  const rl = new RateLimiter({ clock: new FakeClock(0), backoff: { baseMs: 1, maxMs: 1, jitter: 0 } });
  const delays = Array.from({ length: 302 }, (_, i) => rl.when(`k${i}`));
  assert.equal(delays[299], 1);
  assert.equal(delays[300], 20);
  assert.equal(delays[301], 40);
  assert.throws(() => new RateLimiter({ qps: 0 }), /qps > 0/);
});
