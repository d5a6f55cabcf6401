import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SseParser } from './sse-parser.ts';

const STREAM =
  ': watching\n\nid: 5\nevent: BOOKMARK\ndata: {"revision":5}\n\n' +
  'id: 6\nevent: CREATED\ndata: {"type":"CREATED","revision":6,"name":"a: b"}\n\n' +
  'id: 7\r\nevent: UPDATED\r\ndata: line1\r\ndata: line2\r\n\r\n' +
  'event: ERROR\ndata: {"error":{"code":"internal","message":"x"}}\n\n';

test('frames come out the same however the stream is cut into pieces', () => {
  const whole = new SseParser().push(STREAM);
  assert.deepEqual(whole, [
    { id: '5', event: 'BOOKMARK', data: '{"revision":5}' },
    { id: '6', event: 'CREATED', data: '{"type":"CREATED","revision":6,"name":"a: b"}' },
    { id: '7', event: 'UPDATED', data: 'line1\nline2' },
    { id: undefined, event: 'ERROR', data: '{"error":{"code":"internal","message":"x"}}' },
  ]);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 20 }), (cuts) => {
      const p = new SseParser();
      const frames = [];
      let at = 0;
      for (const c of [...cuts.sort((a, b) => a - b), STREAM.length]) {
        frames.push(...p.push(STREAM.slice(at, c)));
        at = c;
      }
      assert.deepEqual(frames, whole);
    }),
  );
});

test('a frame is not emitted before its blank line arrives', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('id: 1\nevent: CREATED\ndata: {}\n'), []);
  assert.equal(p.push('\n').length, 1);
});
