import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { jsonForTerminal, yamlForTerminal } from './structured-output.ts';

/** A control a terminal acts on, other than the newlines and tabs a layout (a block scalar) holds. */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const piece = fc.constantFrom('a', ' ', '\x1b]0;t\x07', '\x1b[2J', '\x9b', '\x85', '\x7f', '\x00', '\x01', '\n', '\r\n', '\t', '\u202e', '\u2066', '\u200f', '\u2028', '\u2029', '\ufeff', '\\', '"', "'", '#', ': ', '- ', 'true', '1', '日本', '😀');
const text = fc.array(piece, { maxLength: 8 }).map((a) => a.join(''));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('v'), { maxLength: 3 }),
  object: fc.dictionary(text, tie('v'), { maxKeys: 3, noNullPrototype: true }),
})).v;

test('-o json: the same value to a parser, no raw control for the terminal', () => {
  assert.equal(jsonForTerminal(JSON.stringify({ m: 'a\u202eb\x9bc\x7f\u2028' })), '{"m":"a\\u202eb\\u009bc\\u007f\\u2028"}');
  fc.assert(
    fc.property(value, (v) => {
      const json = jsonForTerminal(JSON.stringify(v, null, 2));
      assert.doesNotMatch(json.replaceAll('\n', ''), RAW);
      assert.deepEqual(JSON.parse(json), v);
    }),
    { numRuns: 300 },
  );
});

test('-o yaml: the same value to a parser, no raw control for the terminal', async () => {
  assert.equal(await yamlForTerminal({ m: 'a\u202eb\x9bc\x7f', plain: 'x', lines: 'a\nb\n' }), 'm: "a\\u202eb\\x9bc\\x7f"\nplain: x\nlines: |\n  a\n  b\n');
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      const yaml = await yamlForTerminal(v);
      assert.doesNotMatch(yaml, RAW);
      assert.deepEqual(parseYaml(yaml), v);
    }),
    { numRuns: 300 },
  );
});
