import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CONTROL_CHARS, escapeControl, printable } from './printable.ts';

const CONTROL = new RegExp(`[${CONTROL_CHARS}]`);
/** Strings mixing the characters that matter: controls of each class, escape sequences, backslashes, text of every script. */
const tricky = fc
  .array(fc.oneof(fc.constantFrom('\x1b', '\x1b]0;t\x07', '\x1b[2J', '\x9b', '\x85', '\x7f', '\x00', '\n', '\t', '\r', '\u202e', '\u2066', '\u200f', '\u061c', '\u2028', '\\', '\\x1b', 'é', '日本', '😀', '\u200d'), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 12 })
  .map((a) => a.join(''));

test('printable shows each control as its escape: C0, DEL, C1 (the 8-bit CSI too), bidi controls, separators', () => {
  assert.equal(printable('edge\x1b]0;pwned\x07'), String.raw`edge\x1b]0;pwned\x07`);
  assert.equal(printable('\x1b]8;;https://x/\x1b\\click\x1b]8;;\x1b\\'), '\\x1b]8;;https://x/\\x1b\\click\\x1b]8;;\\x1b\\');
  assert.equal(printable('a\nb\tc\rd\x00e\x7ff'), String.raw`a\nb\tc\rd\x00e\x7ff`);
  assert.equal(printable('\x9b31m\x80\x9f'), String.raw`\x9b31m\x80\x9f`);
  assert.equal(printable('txt\u202eexe\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c'), String.raw`txt\u202eexe\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c`);
  assert.equal(printable('\u2028\u2029'), String.raw`\u2028\u2029`);
  assert.equal(escapeControl('\x1b'), String.raw`\x1b`);
});

test('printable leaves text without a control as it is: other scripts, emoji (with their joiners), backslashes', () => {
  for (const s of ['edge-01', 'Zürich – 日本 😀', '👩\u200d💻', String.raw`C:\path\x1b`, 'NBSP\u00a0 here', '']) assert.equal(printable(s), s);
});

test('property: no control survives, printable is idempotent, and text without controls is unchanged', () => {
  fc.assert(
    fc.property(tricky, (s) => {
      const p = printable(s);
      assert.doesNotMatch(p, CONTROL);
      assert.equal(printable(p), p);
      if (!CONTROL.test(s)) assert.equal(p, s);
      // Every control costs its escape and nothing else moves: the text between them is kept.
      assert.equal(p.replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[ntr])/g, ''), s.replace(new RegExp(`[${CONTROL_CHARS}]`, 'g'), '').replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[ntr])/g, ''));
    }),
    { numRuns: 500 },
  );
});
