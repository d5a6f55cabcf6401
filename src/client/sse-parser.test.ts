import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type SseFrame, SseParser } from './sse-parser.ts';

/** Feeds `chunks` to one parser; returns the frames and comments it reported, in order. */
function parse(chunks: (string | Uint8Array)[]): { frames: SseFrame[]; comments: string[] } {
  const frames: SseFrame[] = [];
  const comments: string[] = [];
  const parser = new SseParser((f) => frames.push(f), { onComment: (c) => comments.push(c) });
  for (const c of chunks) parser.push(c);
  return { frames, comments };
}

/** `bytes` cut at the given offsets (sorted, duplicates allowed: they make empty chunks). */
function cut<T extends string | Uint8Array>(whole: T, at: number[]): T[] {
  const bounds = [0, ...[...at].sort((a, b) => a - b), whole.length];
  return bounds.slice(1).map((end, i) => whole.slice(bounds[i], end) as T);
}

const STREAM = [
  ': hello',
  '',
  'id: 7',
  'event: CREATED',
  'data: {"a":1}',
  '',
  'data:first',
  'data:  second: with colon',
  'data',
  'retry: 100',
  'unknown: field',
  '',
  'id: 8',
  'event: BOOKMARK',
  '',
  '',
  'event: ERROR',
  ':keep-alive',
  'data: ünïcödé ✓ 🚀',
  '',
  'id: 9',
  'data: never finished',
];
const EXPECTED: SseFrame[] = [
  { id: '7', event: 'CREATED', data: '{"a":1}' },
  { event: 'message', data: 'first\n second: with colon\n' },
  { event: 'ERROR', data: 'ünïcödé ✓ 🚀' },
];

test('fields, multi-line data, comments and dropped frames, with every line ending, split at every byte', () => {
  for (const eol of ['\n', '\r\n', '\r']) {
    const text = STREAM.join(eol);
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(parse(cut(bytes, [i])), { frames: EXPECTED, comments: [' hello', 'keep-alive'] }, `${JSON.stringify(eol)} bytes cut at ${i}`);
    }
    for (let i = 0; i <= text.length; i++) {
      assert.deepEqual(parse(cut(text, [i])).frames, EXPECTED, `${JSON.stringify(eol)} text cut at ${i}`);
    }
    // One byte at a time: every CR, CRLF and multi-byte character is split from its neighbour.
    assert.deepEqual(parse([...bytes].map((b) => Uint8Array.of(b))).frames, EXPECTED);
  }
});

test('a frame without an id has no id key, not id: undefined', () => {
  const [f] = parse(['data: x\n\n']).frames;
  assert.ok(f && !('id' in f));
});

// Any stream a server could write (one line ending throughout), cut into any chunks, gives the frames
// that carry data, in order, and nothing for the unterminated last one.
test('property: frames survive any chunking, as bytes or as text', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
  const frame = fc.record({
    id: fc.option(text, { nil: undefined }),
    event: fc.option(text.filter((s) => s !== ''), { nil: undefined }),
    data: fc.array(text, { maxLength: 3 }),
    comments: fc.array(text, { maxLength: 2 }),
  });
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 6 }), frame, fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(), { maxLength: 8 }), (frames, tail, eol, cuts) => {
      const lines = (f: typeof tail) => [
        ...f.comments.map((c) => `:${c}`),
        ...(f.id === undefined ? [] : [`id: ${f.id}`]),
        ...(f.event === undefined ? [] : [`event: ${f.event}`]),
        ...f.data.map((d) => `data: ${d}`),
      ];
      const stream = frames.map((f) => [...lines(f), ''].join(eol) + eol).join('') + lines(tail).map((l) => l + eol).join('');
      const expected: SseFrame[] = frames
        .filter((f) => f.data.length > 0)
        .map((f) => ({ event: f.event ?? 'message', data: f.data.join('\n'), ...(f.id === undefined ? {} : { id: f.id }) }));
      const comments = [...frames, tail].flatMap((f) => f.comments);
      const bytes = new TextEncoder().encode(stream);
      const byteCuts = cuts.map((c) => c % (bytes.length + 1));
      assert.deepEqual(parse(cut(bytes, byteCuts)), { frames: expected, comments });
      const textCuts = cuts.map((c) => c % (stream.length + 1));
      assert.deepEqual(parse(cut(stream, textCuts)), { frames: expected, comments });
    }),
    { numRuns: 500 },
  );
});
