import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';

// `npm ci` warns EBADENGINE for every locked package whose engines.node excludes the running Node.
// The project says Node 20 (package.json engines), so every package in the lockfile must admit it.

const read = (path: string) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));

test('every package in package-lock.json runs on the Node this project admits (npm ci prints no EBADENGINE)', () => {
  const lock = read('package-lock.json');
  const pkg = read('package.json');
  assert.ok(semver.satisfies('20.19.0', pkg.engines.node), 'package.json engines says Node 20');
  // The Node running the tests (CI runs Node 20), Node 20 in general, and the oldest Node that
  // package.json's engines admits: no Node it allows gets an EBADENGINE from npm install.
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  const refused = Object.entries(lock.packages as Record<string, { engines?: { node?: string } | string[] }>)
    .filter(([path]) => path !== '')
    .flatMap(([path, p]) => {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (!range) return [];
      const ok = semver.satisfies(process.version, range) && semver.intersects(range, '^20') && semver.satisfies(oldest, range);
      return ok ? [] : [`${path.replace(/^.*node_modules\//, '')}: node ${range}`];
    });
  assert.deepEqual(refused, [], `engines.node ${pkg.engines.node} admits Node ${oldest}`);
});

test('the override keeps light-my-request on cookie 1.x', () => {
  const lock = read('package-lock.json');
  const cookie = lock.packages['node_modules/cookie'] ?? lock.packages['node_modules/light-my-request/node_modules/cookie'];
  assert.equal(semver.major(cookie.version), 1, `cookie ${cookie.version}`);
});
