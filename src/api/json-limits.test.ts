import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonProblem, jsonTextTooDeep, serializedJsonProblem, textProblem } from './json-limits.ts';

/** Strings built from the characters that matter here: NUL, both surrogate halves, a pair, escapes. */
const tricky = fc.array(fc.constantFrom('a', '\0', '\ud800', '\udc00', '\ud83d\ude00', '\\', 'u', '0', 'd', '8', '"', '\n', '\u0001'), { maxLength: 8 }).map((a) => a.join(''));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(tricky, tie('value'), { maxKeys: 3 }),
})).value;

function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}
const isWellFormed = (s: string) => !/\0/.test(s) && encodeURIComponentSafe(s);
function encodeURIComponentSafe(s: string): boolean {
  try {
    encodeURIComponent(s); // throws URIError on an unpaired surrogate
    return true;
  } catch {
    return false;
  }
}

test('textProblem refuses NUL and unpaired surrogates, and nothing else', () => {
  assert.match(textProblem('a\u0000b')!, /NUL/);
  assert.match(textProblem('\ud800')!, /surrogate/);
  assert.match(textProblem('x\udc00y')!, /surrogate/);
  assert.match(textProblem('\ud800\ud800\udc00')!, /surrogate/); // the first high one is alone
  assert.equal(textProblem('emoji \ud83d\ude00, tab\t, \u0001, ü'), undefined);
  fc.assert(fc.property(tricky, (s) => (textProblem(s) === undefined) === isWellFormed(s)));
});

test('jsonProblem finds the first bad key or string and a too-deep nesting, and names the path', () => {
  assert.equal(jsonProblem({ a: [1, { b: 'ok' }] }, 3, 'spec'), undefined);
  assert.match(jsonProblem({ a: [1, { b: 'x\u0000' }] }, 32, 'spec')!, /^spec\.a\[1\]\.b holds a NUL/);
  assert.match(jsonProblem({ ['k\ud800']: 1 }, 32, 'spec')!, /^spec has a key that holds an unpaired/);
  assert.match(jsonProblem({ a: { b: {} } }, 2, 'spec')!, /nests deeper than 2 levels/);
  fc.assert(
    fc.property(json, fc.integer({ min: 1, max: 5 }), (v, max) => {
      const p = jsonProblem(v, max, 'v');
      const deep = depthOf(v) > max;
      if (!deep && p === undefined) assert.equal(serializedJsonProblem(JSON.stringify(v)), undefined);
      if (p === undefined) assert.ok(!deep);
      if (deep) assert.ok(p !== undefined);
    }),
  );
});

test('jsonProblem walks a million levels without a stack overflow', () => {
  let v: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) v = [v];
  assert.match(jsonProblem(v, 32, 'body')!, /nests deeper than 32/);
});

test('jsonTextTooDeep agrees with the parsed depth, and ignores brackets inside strings', () => {
  assert.equal(jsonTextTooDeep('{"a":"[[[[[[","b":"\\"{{{{"}', 1), false);
  assert.equal(jsonTextTooDeep('[[1]]', 1), true);
  assert.equal(jsonTextTooDeep(`${'['.repeat(500_000)}${']'.repeat(500_000)}`, 64), true);
  fc.assert(fc.property(json, fc.integer({ min: 0, max: 5 }), (v, max) => jsonTextTooDeep(JSON.stringify(v), max) === depthOf(v) > max));
});

test('serializedJsonProblem finds exactly the unstorable strings of what JSON.stringify wrote', () => {
  assert.equal(serializedJsonProblem(JSON.stringify({ a: '\\u0000 is text, not an escape' })), undefined);
  assert.match(serializedJsonProblem(JSON.stringify({ a: '\\\u0000' }))!, /NUL/);
  fc.assert(
    fc.property(json, (v) => {
      const textOk = jsonProblem(v, Number.MAX_SAFE_INTEGER, 'v') === undefined;
      assert.equal(serializedJsonProblem(JSON.stringify(v)) === undefined, textOk);
    }),
  );
});
