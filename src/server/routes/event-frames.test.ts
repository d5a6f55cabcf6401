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
