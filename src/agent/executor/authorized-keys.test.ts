import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { editAuthorizedKeys, KEYS_BEGIN, KEYS_END, managedKeys } from './authorized-keys.ts';

const mine = 'ssh-ed25519 AAAAmine me@laptop';
const a = 'ssh-ed25519 AAAAa eim-a';
const b = 'ssh-ed25519 AAAAb eim-b';

test('the block is added after hand-added keys, replaced in place, and removed with its markers; hand-added keys survive', () => {
  const one = editAuthorizedKeys(`# my keys\n${mine}\n`, [a, b]);
  assert.equal(one, `# my keys\n${mine}\n${KEYS_BEGIN}\n${a}\n${b}\n${KEYS_END}\n`);
  const later = `${one}ssh-rsa AAAAlater added-after\n`;
  const two = editAuthorizedKeys(later, [b]);
  assert.equal(two, `# my keys\n${mine}\n${KEYS_BEGIN}\n${b}\n${KEYS_END}\nssh-rsa AAAAlater added-after\n`);
  assert.deepEqual(managedKeys(two), [b]);
  assert.equal(editAuthorizedKeys(two, []), `# my keys\n${mine}\nssh-rsa AAAAlater added-after\n`);
  assert.equal(editAuthorizedKeys('', []), '');
  assert.equal(editAuthorizedKeys('', [a]), `${KEYS_BEGIN}\n${a}\n${KEYS_END}\n`);
  // A begin marker whose end was cut off: what follows was eim's.
  assert.equal(editAuthorizedKeys(`${mine}\n${KEYS_BEGIN}\n${a}\n`, [b]), `${mine}\n${KEYS_BEGIN}\n${b}\n${KEYS_END}\n`);
});

test('property: idempotent, and every line outside the block is kept in order', () => {
  const line = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\n') && s !== KEYS_BEGIN && s !== KEYS_END);
  fc.assert(
    fc.property(fc.array(line, { maxLength: 6 }), fc.array(line.filter((s) => s.trim() !== ''), { maxLength: 4 }), fc.array(line.filter((s) => s.trim() !== ''), { maxLength: 4 }), (hand, k1, k2) => {
      const start = hand.length ? `${hand.join('\n')}\n` : '';
      const once = editAuthorizedKeys(start, k1);
      assert.equal(editAuthorizedKeys(once, k1), once);
      const twice = editAuthorizedKeys(once, k2);
      assert.deepEqual(managedKeys(twice), k2);
      const outside = editAuthorizedKeys(twice, []);
      assert.equal(outside, start);
    }),
    { numRuns: 300 },
  );
});
