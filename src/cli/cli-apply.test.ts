import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// The real `eim` binary against a real server: apply's idempotence (the acceptance criterion of
// issue 3), and the commands that change many resources at once.

const FLEET = `# a region, two sites in it, three hosts on the sites: references by name
kind: region
name: eu
spec: {}
---
kind: Site
name: berlin
spec:
  regionId: name:eu
  address: Alexanderplatz 1
---
kind: sites
name: paris
spec: { regionId: { name: eu } }
---
kind: host
name: edge-01
labels: { line: "1" }
spec: { siteId: name:berlin, serialNumber: SN0001 }
---
kind: host
name: edge-02
labels: { line: "2" }
spec: { siteId: name:berlin }
---
kind: Host
name: edge-03
labels: { line: "3" }
spec: { siteId: name:paris, desiredState: registered }
`;

const lines = (s: string) => s.trim().split('\n');

describe('eim CLI: apply and bulk changes', () => {
  let h: CliHarness;
  const hosts = async (filter?: string) => {
    const q = filter ? `?filter=${encodeURIComponent(filter)}&orderBy=name` : '?orderBy=name';
    return (await call(`${h.server.url}/v1/projects/default/hosts${q}`, { token: h.server.token })).json.items as { id: string; name: string; labels: Record<string, string>; spec: Record<string, string> }[];
  };
  before(async () => {
    h = await startCliHarness();
    h.login();
  });
  after(() => h.close());

  test('apply creates ×6, then reports unchanged ×6, then configures only what changed', async () => {
    const first = await h.eim(['apply', '-f', '-'], { stdin: FLEET });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(lines(first.stdout), ['region/eu created', 'site/berlin created', 'site/paris created', 'host/edge-01 created', 'host/edge-02 created', 'host/edge-03 created']);
    const created = await hosts();
    const sites = (await call(`${h.server.url}/v1/projects/default/sites?orderBy=name`, { token: h.server.token })).json.items;
    assert.deepEqual(created.map((x) => x.spec.siteId), [sites[0].id, sites[0].id, sites[1].id], 'name: references resolve to ids');

    const second = await h.eim(['apply', '-f', '-'], { stdin: FLEET });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(lines(second.stdout), ['region/eu unchanged', 'site/berlin unchanged', 'site/paris unchanged', 'host/edge-01 unchanged', 'host/edge-02 unchanged', 'host/edge-03 unchanged']);

    const third = await h.eim(['apply', '-f', '-'], { stdin: FLEET.replace('line: "2"', 'line: "22"') });
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(lines(third.stdout), ['region/eu unchanged', 'site/berlin unchanged', 'site/paris unchanged', 'host/edge-01 unchanged', 'host/edge-02 configured', 'host/edge-03 unchanged']);
    assert.equal((await hosts('name = "edge-02"'))[0].labels.line, '22');
  });

  test('a bad document fails with its line and the server message; a bad file changes nothing', async () => {
    const broken = await h.eim(['apply', '-f', '-'], { stdin: 'kind: site\nname: rome\nspec: { regionId: name:nowhere }\n' });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^error: site\/rome \(<stdin>:1\): spec\.regionId names region "nowhere", which does not exist in project default .*\(not_found\)$/m);
    const unknownKind = await h.eim(['apply', '-f', '-'], { stdin: 'kind: region\nname: ok\nspec: {}\n---\nkind: planet\nname: mars\n' });
    assert.equal(unknownKind.code, 2, 'every document is checked before any is applied');
    assert.match(unknownKind.stderr, /unknown kind "planet"/);
    assert.equal((await call(`${h.server.url}/v1/projects/default/regions?filter=${encodeURIComponent('name = "ok"')}`, { token: h.server.token })).json.items.length, 0);
  });

  test('host onboard: --dry-run shows each change and writes nothing; then it writes, 8 at a time', async () => {
    const dry = await h.eim(['host', 'onboard', '--region', 'eu', '--filter', 'labels.line != "3"', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^host\/edge-01 \(host-[0-9a-f]{8}\): spec\.desiredState registered → onboarded$/m);
    assert.match(dry.stdout, /^host\/edge-02 \(host-[0-9a-f]{8}\): spec\.desiredState registered → onboarded$/m);
    assert.doesNotMatch(dry.stdout, /edge-03/);
    assert.match(dry.stdout, /^2 would change, 0 unchanged \(dry run: nothing was written\)$/m);
    assert.deepEqual((await hosts()).map((x) => x.spec.desiredState), ['registered', 'registered', 'registered']);

    const unconfirmed = await h.eim(['host', 'onboard', '--site', 'berlin']);
    assert.equal(unconfirmed.code, 2, 'no terminal to ask on and no --yes: refuse');
    assert.match(unconfirmed.stderr, /refusing without --yes/);

    const real = await h.eim(['host', 'onboard', '--region', 'eu', '--yes']);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /^3 changed, 0 unchanged, 0 failed$/m);
    assert.deepEqual((await hosts()).map((x) => x.spec.desiredState), ['onboarded', 'onboarded', 'onboarded']);

    const again = await h.eim(['host', 'power', 'off', 'edge-01', 'edge-02']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^2 changed, 0 unchanged, 0 failed$/m);
    assert.deepEqual((await hosts()).map((x) => x.spec.desiredPowerState), ['off', 'off', undefined]);
  });

  test('delete --filter: --dry-run lists and deletes nothing; --yes deletes exactly the matches', async () => {
    const dry = await h.eim(['delete', 'hosts', '--filter', 'spec.desiredPowerState = off', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(lines(dry.stdout).map((l) => l.replace(/host-[0-9a-f]{8}/, 'ID')), [
      'would delete: host/edge-01 (ID)',
      'would delete: host/edge-02 (ID)',
      '2 would be deleted (dry run: nothing was deleted)',
    ]);
    assert.equal((await hosts()).length, 3, 'a dry run deletes nothing');

    const real = await h.eim(['delete', 'hosts', '--filter', 'spec.desiredPowerState = off', '--force', '--yes']);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /^2 deleted, 0 unchanged, 0 failed$/m);
    assert.deepEqual((await hosts()).map((x) => x.name), ['edge-03']);
  });
});
