import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plural } from './plural.ts';

test('plural: one is singular, anything else plural, the English way', () => {
  assert.deepEqual([plural(1, 'host'), plural(0, 'host'), plural(2, 'host')], ['1 host', '0 hosts', '2 hosts']);
  assert.deepEqual([plural(2, 'policy'), plural(2, 'os-update-policy'), plural(2, 'day'), plural(2, 'address'), plural(2, 'person', 'people')], ['2 policies', '2 os-update-policies', '2 days', '2 addresses', '2 people']);
});
