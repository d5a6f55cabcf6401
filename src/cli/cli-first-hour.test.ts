import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// What a new operator typed in their first hour (issue 11), against the real binary and a real
// server: each test is a command from the README or the issue, and what it must print.

const SHA = 'a'.repeat(64);

describe('eim CLI: an operator\'s first hour', () => {
  let h: CliHarness;
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${h.server.url}/v1/projects/default${path}`, { token: h.server.token, ...o });
  before(async () => {
    h = await startCliHarness();
    h.login();
  });
  after(() => h.close());

  test("the README's first OS command works: --set reads 22.04 as the string a string field needs", async () => {
    const r = await h.eim([
      'create', 'operating-system', 'ubuntu-22.04', '--label', 'default=true',
      '--set', 'spec.imageUrl=https://images.example/ubuntu-22.04.img', '--set', `spec.sha256=${SHA}`,
      '--set', 'spec.profileName=ubuntu', '--set', 'spec.profileVersion=22.04', '--set', 'spec.osType=mutable', '--set', 'spec.architecture=x86_64',
      '-o', 'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).spec.profileVersion, '22.04');
    const bad = await h.eim(['create', 'site', 'x', '--set', 'spec.latitude=north']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /spec\.latitude is a number/);
  });

  test('--set takes name: references in create and patch, as apply does', async () => {
    const eu = await h.eim(['create', 'region', 'eu-west', '-o', 'json']);
    assert.equal(eu.code, 0, eu.stderr);
    const euId = JSON.parse(eu.stdout).id;
    const site = await h.eim(['create', 'site', 'dublin-1', '--set', 'spec.regionId=name:eu-west', '-o', 'json']);
    assert.equal(site.code, 0, site.stderr);
    assert.equal(JSON.parse(site.stdout).spec.regionId, euId);
    assert.equal((await h.eim(['create', 'region', 'eu-north'])).code, 0);
    const moved = await h.eim(['patch', 'site', 'dublin-1', '--set', 'spec.regionId=name:eu-north', '-o', 'json']);
    assert.equal(moved.code, 0, moved.stderr);
    const north = (await api('/regions?filter=name%20%3D%20eu-north')).json.items[0];
    assert.equal(JSON.parse(moved.stdout).spec.regionId, north.id);
    const missing = await h.eim(['create', 'site', 'cork-1', '--set', 'spec.regionId=name:atlantis']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /spec\.regionId names region "atlantis", which does not exist in project default \(create it first; .*\) \(not_found\)/);
  });
});
