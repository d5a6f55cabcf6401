import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';

// `npm ci` warns EBADENGINE for every locked package whose engines.node excludes the running Node.
// The project says Node 20 (package.json engines), so every package in the lockfile must admit it.

const read = (path: string) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));

test('every package in package-lock.json runs on Node 20 (npm ci prints no EBADENGINE)', () => {
  const lock = read('package-lock.json');
  const refused = Object.entries(lock.packages as Record<string, { engines?: { node?: string } | string[] }>)
    .filter(([path]) => path !== '')
    .flatMap(([path, p]) => {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (!range) return [];
      // The Node running the tests (CI runs Node 20), and Node 20 in general.
      const ok = semver.satisfies(process.version, range) && semver.intersects(range, '^20');
      return ok ? [] : [`${path.replace(/^.*node_modules\//, '')}: node ${range}`];
    });
  assert.deepEqual(refused, []);
});

test('package.json engines says Node 20, and the override keeps light-my-request on cookie 1.x', () => {
  const lock = read('package-lock.json');
  const pkg = read('package.json');
  assert.ok(semver.satisfies('20.19.0', pkg.engines.node));
  // The oldest Node the project admits is one every locked package admits: no Node that engines
  // allows gets an EBADENGINE from npm install.
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  const refused = Object.entries(lock.packages as Record<string, { engines?: { node?: string } | string[] }>)
    .filter(([path, p]) => path !== '' && !Array.isArray(p.engines) && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
    .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')}: node ${(p.engines as { node: string }).node}`);
  assert.deepEqual(refused, [], `engines.node ${pkg.engines.node} admits Node ${oldest}, which these refuse`);
  const cookie = lock.packages['node_modules/cookie'] ?? lock.packages['node_modules/light-my-request/node_modules/cookie'];
  assert.equal(semver.major(cookie.version), 1, `cookie ${cookie.version}`);
});
