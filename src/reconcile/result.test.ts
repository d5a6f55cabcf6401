import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asError, done, requeueAfter, retry, terminal } from './result.ts';

test('constructors build the discriminated union', () => {
  assert.deepEqual(done(), { type: 'done' });
  assert.deepEqual(requeueAfter(500), { type: 'requeueAfter', ms: 500 });
  const e = new Error('agent busy');
  assert.equal((retry(e) as { error: Error }).error, e);
  assert.equal(terminal(e).type, 'terminal');
  assert.ok(Object.isFrozen(requeueAfter(1)));
});

test('requeueAfter refuses negative and non-finite delays', () => {
  assert.throws(() => requeueAfter(-1), /finite number ≥ 0/);
  assert.throws(() => requeueAfter(Number.NaN), /finite number ≥ 0/);
  assert.throws(() => requeueAfter(Number.POSITIVE_INFINITY), /finite number ≥ 0/);
});

test('anything thrown becomes an Error that keeps the original as its cause', () => {
  assert.equal(asError('plain text').message, 'plain text');
  const weird = asError({ code: 7 });
  assert.equal(weird.message, '{"code":7}');
  assert.deepEqual(weird.cause, { code: 7 });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(asError(cyclic).message, '[object Object]');
});
