import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EimError } from '../../api/index.ts';
import { FakeClock } from '../../reconcile/index.ts';
import { TokenWatches } from './token-watches.ts';

const expired = () => new EimError('unauthenticated', 'expired');
const revoked = () => new EimError('unauthenticated', 'revoked');

test('TokenWatches: a revocation ends the watches of its token only, once each; a stopped watch hears nothing', () => {
  const clock = new FakeClock();
  const w = new TokenWatches(clock, expired);
  const heard: string[] = [];
  w.add('a', Infinity, (e) => heard.push(`a1 ${e.message}`));
  const stopA2 = w.add('a', clock.now() + 1000, (e) => heard.push(`a2 ${e.message}`));
  w.add('b', Infinity, (e) => heard.push(`b ${e.message}`));
  stopA2();
  w.revoke('a', revoked);
  w.revoke('a', revoked);
  assert.deepEqual(heard, ['a1 revoked']);
  clock.advance(2000);
  assert.deepEqual(heard, ['a1 revoked'], 'the stopped watch does not expire either');
  assert.equal(w.size, 1);
  w.revoke('b', revoked);
  assert.deepEqual(heard, ['a1 revoked', 'b revoked']);
  assert.equal(w.size, 0);
});

test('TokenWatches: each watch expires at its own time with one timer, and at once when its time has passed', () => {
  const clock = new FakeClock();
  const w = new TokenWatches(clock, expired);
  const heard: string[] = [];
  const t0 = clock.now();
  for (const [id, at] of [['c', 3000], ['a', 1000], ['b', 2000], ['d', 2000]] as const) w.add(id, t0 + at, (e) => heard.push(`${id} ${e.message} at ${clock.now() - t0}`));
  assert.equal(clock.pending, 1, 'one timer for every watch');
  clock.advance(2500);
  assert.equal(heard[0], 'a expired at 1000');
  assert.deepEqual(heard.slice(1).sort(), ['b expired at 2000', 'd expired at 2000'], 'those due at one time, in any order');
  w.add('e', t0 + 2000, (e) => heard.push(`e ${e.message} at once`));
  assert.equal(heard.at(-1), 'e expired at once');
  clock.advance(1000);
  assert.equal(heard.at(-1), 'c expired at 3000');
  assert.equal(w.size, 0);
  assert.equal(clock.pending, 0, 'no timer left');
});

test('TokenWatches: an expiry past setTimeout\'s longest delay is waited for in steps', () => {
  const clock = new FakeClock();
  const w = new TokenWatches(clock, expired);
  let heard = 0;
  const days = 40 * 86_400_000;
  w.add('a', clock.now() + days, () => heard++);
  clock.advance(days - 1);
  assert.equal(heard, 0);
  clock.advance(1);
  assert.equal(heard, 1);
});

test('TokenWatches: any mix of adds, stops, revocations and time ends each watch once, at its expiry or revocation (property)', () => {
  type Op = { t: 'add'; token: number; in: number } | { t: 'stop'; i: number } | { t: 'revoke'; token: number } | { t: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ t: fc.constant('add' as const), token: fc.integer({ min: 0, max: 4 }), in: fc.integer({ min: -5, max: 100 }) }),
    fc.record({ t: fc.constant('stop' as const), i: fc.nat(40) }),
    fc.record({ t: fc.constant('revoke' as const), token: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const clock = new FakeClock();
      const w = new TokenWatches(clock, expired);
      // The model: each watch's token, expiry, and whether it is still watched.
      const model: { token: string; at: number; live: boolean; stop: () => void; ended: string[] }[] = [];
      for (const o of ops) {
        if (o.t === 'add') {
          const m = { token: `t${o.token}`, at: clock.now() + o.in, live: true, stop: () => {}, ended: [] as string[] };
          m.stop = w.add(m.token, m.at, (e) => m.ended.push(`${e.message} at ${clock.now()}`));
          model.push(m);
          if (m.at <= clock.now()) {
            assert.deepEqual(m.ended, [`expired at ${clock.now()}`]);
            m.live = false;
          }
        } else if (o.t === 'stop' && model[o.i]) {
          model[o.i].stop();
          model[o.i].live = false;
        } else if (o.t === 'revoke') {
          w.revoke(`t${o.token}`, revoked);
          for (const m of model) if (m.live && m.token === `t${o.token}`) {
            assert.deepEqual(m.ended, [`revoked at ${clock.now()}`]);
            m.live = false;
          }
        } else if (o.t === 'advance') {
          for (let s = 0; s < o.ms; s++) {
            clock.advance(1);
            for (const m of model) if (m.live && m.at <= clock.now()) {
              assert.deepEqual(m.ended, [`expired at ${m.at}`]);
              m.live = false;
            }
          }
        }
        for (const m of model) assert.ok(m.ended.length <= 1, 'a watch ends once');
        for (const m of model) if (m.live) assert.equal(m.ended.length, 0);
        assert.equal(w.size, model.filter((m) => m.live).length);
      }
    }),
  );
});
