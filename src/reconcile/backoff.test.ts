import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Backoff } from './backoff.ts';

test('defaults: 1 s doubling to the 60 s cap (no jitter at random = 0.5)', () => {
  const b = new Backoff({ random: () => 0.5 });
  const delays = Array.from({ length: 9 }, () => b.next('k'));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(b.attempts('k'), 9);
  assert.deepEqual(b.options, { baseMs: 1000, maxMs: 60000, factor: 2, jitter: 0.2, random: b.options.random });
});

test('jitter spreads each delay within ±20 % and never past the cap', () => {
  const low = new Backoff({ random: () => 0 });
  const high = new Backoff({ random: () => 0.999999 });
  const lows = Array.from({ length: 8 }, () => low.next('k'));
  const highs = Array.from({ length: 8 }, () => high.next('k'));
  assert.deepEqual(lows, [800, 1600, 3200, 6400, 12800, 25600, 48000, 48000]);
  assert.deepEqual(highs, [1200, 2400, 4800, 9600, 19200, 38400, 60000, 60000]);
});

test('property: every delay lies in [d·(1−j), min(max, d·(1+j))] for d = min(max, base·factorⁿ)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 50 }),
      fc.double({ min: 1, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 0.9, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
      (baseMs, capTimes, factor, jitter, randoms) => {
        const maxMs = baseMs * capTimes;
        let i = 0;
        const b = new Backoff({ baseMs, maxMs, factor, jitter, random: () => randoms[i] });
        for (i = 0; i < randoms.length; i++) {
          const d = Math.min(maxMs, baseMs * factor ** i);
          const got = b.next('k');
          assert.ok(got >= Math.floor(d * (1 - jitter)) && got <= Math.min(maxMs, Math.ceil(d * (1 + jitter))), `attempt ${i + 1}: ${got} outside ${d}±${jitter}`);
        }
      },
    ),
  );
});

test('keys back off independently; forget starts a key over', () => {
  const b = new Backoff({ random: () => 0.5 });
  b.next('a');
  b.next('a');
  assert.equal(b.next('b'), 1000);
  assert.equal(b.next('a'), 4000);
  b.forget('a');
  assert.equal(b.attempts('a'), 0);
  assert.equal(b.next('a'), 1000);
  assert.equal(b.size, 2);
});

test('a key failing for a very long time stays at the cap', () => {
  const b = new Backoff({ random: () => 0.5 });
  for (let i = 0; i < 5000; i++) b.next('k');
  assert.equal(b.next('k'), 60000);
});

test('nonsense options are refused with what to fix', () => {
  assert.throws(() => new Backoff({ baseMs: 0 }), /0 < baseMs ≤ maxMs/);
  assert.throws(() => new Backoff({ baseMs: 10, maxMs: 5 }), /0 < baseMs ≤ maxMs/);
  assert.throws(() => new Backoff({ factor: 0.5 }), /factor must be ≥ 1/);
  assert.throws(() => new Backoff({ jitter: 1 }), /jitter must be in \[0, 1\)/);
});
