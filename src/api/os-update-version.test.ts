import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareProfileVersions } from './os-update-version.ts';

test('profile versions order numerically, part by part', () => {
  assert.deepEqual(['22.10', '22.9', '24.04.1', '24.04', '9', '2.rc1', '2.0'].sort(compareProfileVersions), ['2.rc1', '2.0', '9', '22.9', '22.10', '24.04', '24.04.1']);
  assert.equal(compareProfileVersions('22.04', '22.4'), 0);
  assert.ok(compareProfileVersions('1.10.0', '1.9.9') > 0);
  assert.ok(compareProfileVersions('12345678901234567890', '12345678901234567891') < 0, 'big numbers do not lose precision');
});

test('the comparison is a total preorder (antisymmetric, transitive)', () => {
  const version = fc.array(fc.oneof(fc.nat(30).map(String), fc.constantFrom('rc', 'beta', 'a')), { minLength: 1, maxLength: 4 }).map((p) => p.join('.'));
  fc.assert(
    fc.property(version, version, version, (a, b, c) => {
      assert.equal(Math.sign(compareProfileVersions(a, b)), -Math.sign(compareProfileVersions(b, a)) || 0);
      if (compareProfileVersions(a, b) <= 0 && compareProfileVersions(b, c) <= 0) assert.ok(compareProfileVersions(a, c) <= 0);
    }),
  );
});
