import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock, systemClock } from './clock.ts';

test('FakeClock runs due timers in order, ties in scheduling order', () => {
  const clock = new FakeClock(0);
  const ran: string[] = [];
  clock.setTimeout(() => ran.push('b@20'), 20);
  clock.setTimeout(() => ran.push('a@10'), 10);
  clock.setTimeout(() => ran.push('c@20'), 20);
  clock.setTimeout(() => ran.push('d@31'), 31);
  assert.equal(clock.advance(9), 0);
  assert.equal(clock.now(), 9);
  assert.equal(clock.advance(21), 3);
  assert.deepEqual(ran, ['a@10', 'b@20', 'c@20']);
  assert.equal(clock.now(), 30);
  assert.equal(clock.pending, 1);
  assert.equal(clock.nextDelay(), 1);
});

test('FakeClock runs timers scheduled by timers when they fall inside the span, at their own time', () => {
  const clock = new FakeClock(0);
  const at: number[] = [];
  const tick = () => {
    at.push(clock.now());
    clock.setTimeout(tick, 100);
  };
  clock.setTimeout(tick, 100);
  clock.advance(350);
  assert.deepEqual(at, [100, 200, 300]);
  assert.equal(clock.nextDelay(), 50);
});

test('FakeClock.clearTimeout cancels; runAll empties and refuses endless rescheduling', () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const h = clock.setTimeout(() => fired++, 5);
  clock.setTimeout(() => fired++, 7);
  clock.clearTimeout(h);
  assert.equal(clock.runAll(), 1);
  assert.equal(fired, 1);
  assert.equal(clock.now(), 7);
  assert.equal(clock.pending, 0);
  assert.equal(clock.advanceToNext(), undefined);
  const forever = () => void clock.setTimeout(forever, 1);
  forever();
  assert.throws(() => clock.runAll(50), /keeps rescheduling/);
});

test('systemClock schedules real timers', async () => {
  const t0 = systemClock.now();
  await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
  assert.ok(systemClock.now() - t0 >= 4);
  let fired = false;
  const h = systemClock.setTimeout(() => (fired = true), 1);
  systemClock.clearTimeout(h);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(fired, false);
});
