import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { plural } from './format.ts';

test('plural: singular for exactly one', () => {
  assert.equal(plural(1, 'host'), '1 host');
  assert.equal(plural(0, 'host'), '0 hosts');
  assert.equal(plural(2, 'host'), '2 hosts');
  assert.equal(plural(1, 'policy', 'policies'), '1 policy');
  assert.equal(plural(3, 'policy', 'policies'), '3 policies');
});

test('no view prints a count next to a plural it wrote itself ("1 hosts"): counts go through plural()', () => {
  const dir = new URL('.', import.meta.url).pathname;
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tsx'));
  assert.ok(files.length > 5);
  // `{n} hosts` in JSX, or `${n} hosts` in a template.
  const fixedPlural = /[}][ ]?(hosts|instances|sites|regions|failures|windows|schedules|policies|events|devices|profiles)\b/;
  const found = files.flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .map((line, i) => [f, i + 1, line] as const)
      .filter(([, , line]) => fixedPlural.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*')),
  );
  assert.deepEqual(found.map(([f, n, l]) => `${f}:${n}: ${l.trim()}`), []);
});
