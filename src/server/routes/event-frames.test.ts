import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventFrames, eventType } from './event-frames.ts';

test('EventFrames encodes an event once, shares the bytes, and holds at most its bound', () => {
  const frames = new EventFrames(2);
  const json = (r: number) => `{"type":"UPDATED","revision":${r},"kind":"Host","name":"é"}`;
  const a = frames.of({ revision: 1, json: json(1) });
  assert.equal(a.toString('utf8'), `id: 1\nevent: UPDATED\ndata: ${json(1)}\n\n`);
  assert.equal(frames.of({ revision: 1, json: json(1) }), a, 'the same bytes for every stream');
  frames.of({ revision: 2, json: json(2) });
  frames.of({ revision: 3, json: json(3) });
  assert.equal(frames.size, 2);
  assert.notEqual(frames.of({ revision: 1, json: json(1) }), a, 'evicted, encoded again');
  assert.equal(eventType('{"type":"DELETED","revision":4}'), 'DELETED');
});

test('EventFrames holds at most its byte bound too: large events push the oldest out, one larger than the bound is still served', () => {
  const frames = new EventFrames(100, 1000);
  const big = (r: number, n: number) => ({ revision: r, json: `{"type":"UPDATED","revision":${r},"pad":"${'x'.repeat(n)}"}` });
  for (let r = 1; r <= 10; r++) frames.of(big(r, 300));
  assert.ok(frames.bytes <= 1000, `${frames.bytes} bytes held`);
  assert.equal(frames.size, 2, 'two frames of ~360 bytes fit in 1,000');
  const huge = frames.of(big(11, 5000));
  assert.ok(huge.length > 5000, 'served whole');
  assert.equal(frames.size, 1);
});
