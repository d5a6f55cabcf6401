import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEimError, type Resource } from '../../api/index.ts';
import { testEd25519Key } from '../../testing/ssh-keys.ts';
import { openHarness, sleep, until } from '../testing/manager-harness.ts';

const P = 'default';

test('node-config manager: an account for a region reaches exactly the hosts under it; changes rewrite, nothing else does; instances still name accounts; writes refuse duplicates and system names', async () => {
  const h = await openHarness();
  try {
    const create = (kind: string, name: string, spec: Record<string, unknown>): Promise<Resource> => h.user.create(P, kind, { name, spec });
    const root = await create('Region', 'root', {});
    const child = await create('Region', 'child', { parentRegionId: root.id });
    const s1 = await create('Site', 's1', { regionId: child.id });
    const s2 = await create('Site', 's2', {regionId: (await create('Region', 'other', {})).id });
    const h1 = await h.host('h1', { siteId: s1.id });
    const h2 = await h.host('h2', { siteId: s1.id });
    const h3 = await h.host('h3', { siteId: s2.id });
    const nc = async (id: string) => (await h.get('Host', id)).status.nodeConfig;
    const idle = () => h.managers.stats().nodeConfig.queueLength + h.managers.stats().nodeConfig.inFlight === 0;
    await sleep(100);
    assert.equal(h.managers.stats().nodeConfig.writes, 0, 'nothing declared, nothing written');

    const k1 = testEd25519Key('k1');
    const ops = await create('LocalAccount', 'ops', { username: 'ops', sshKeys: [k1], sudo: 'nopasswd', target: { regionId: root.id } });
    await until(async () => (await nc(h1.id))?.accounts.length === 1 && (await nc(h2.id))?.accounts.length === 1 && idle(), 'the region account reached h1 and h2');
    assert.equal(await nc(h3.id), undefined, 'h3 is in another region');
    const n1 = (await nc(h1.id))!;
    assert.deepEqual(n1.accounts, [{ username: 'ops', sshKeys: [k1], sudo: 'nopasswd', groups: [], state: 'present', sourceId: ops.id }]);
    assert.deepEqual(n1.sources, [{ item: 'account:ops', resourceId: ops.id, level: 'region', targetId: root.id, via: 'target' }]);
    assert.equal(n1.applyStatus?.indicator, 'in_progress');
    assert.equal(h.managers.stats().nodeConfig.writes, 2);

    // A rotation: a new version on both; a label change on the account writes nothing.
    const k2 = testEd25519Key('k2');
    await h.user.update(P, 'LocalAccount', ops.id, { spec: { sshKeys: [k2] } });
    await until(async () => (await nc(h1.id))?.accounts[0].sshKeys[0] === k2 && (await nc(h2.id))?.accounts[0].sshKeys[0] === k2 && idle(), 'rotated');
    assert.notEqual((await nc(h1.id))!.version, n1.version);
    const writes = h.managers.stats().nodeConfig.writes;
    await h.user.update(P, 'LocalAccount', ops.id, { labels: { team: 'x' } });
    await h.svc.as({ subject: 'm', grants: [{ project: '*', role: 'manager' }] }).updateStatus(P, 'Host', h1.id, { lastSeenAt: new Date().toISOString() });
    await sleep(200);
    assert.equal(h.managers.stats().nodeConfig.writes, writes, 'unchanged sets are not rewritten');

    // An instance's localAccountId and customConfigIds apply to its host, most specific.
    const os = await h.os('ubuntu');
    const cfg = await create('CustomConfig', 'motd', { type: 'file', path: '/etc/motd', content: 'hello\n' });
    const legacy = await create('LocalAccount', 'legacy', { username: 'ops', sshKey: k1 });
    await h.user.create(P, 'Instance', { name: 'i3', spec: { hostId: h3.id, osId: os.id, desiredState: 'running', localAccountId: legacy.id, customConfigIds: [cfg.id] } });
    await until(async () => (await nc(h3.id))?.configs.length === 1 && idle(), 'the instance brought its account and config');
    const n3 = (await nc(h3.id))!;
    assert.deepEqual(n3.accounts.map((a) => [a.username, a.sourceId, a.sshKeys]), [['ops', legacy.id, [k1]]]);
    assert.deepEqual(n3.configs[0], { sourceId: cfg.id, name: 'motd', type: 'file', runPolicy: 'on-change', path: '/etc/motd', mode: '0644', owner: 'root:root', content: 'hello\n' });
    assert.deepEqual(n3.sources.map((s) => [s.item, s.via, s.level]), [['account:ops', 'instance', 'instance'], [`config:${cfg.id}`, 'instance', 'instance']]);

    // A site-level absent takes the region's account away from s1's hosts (they keep an absent entry).
    await create('LocalAccount', 'no-ops', { username: 'ops', state: 'absent', target: { siteId: s1.id } });
    await until(async () => (await nc(h1.id))?.accounts[0].state === 'absent' && idle(), 'absent at the site');

    // Refused on write: a second 'ops' for the same region (conflict naming the first), system names, weak keys.
    const refused = async (spec: Record<string, unknown>, code: string, re: RegExp) => {
      await assert.rejects(create('LocalAccount', `x${Math.random().toString(16).slice(2, 8)}`, spec), (e: unknown) => isEimError(e) && e.code === code && re.test(e.message));
    };
    await refused({ username: 'ops', sshKeys: [k2], target: { regionId: root.id } }, 'conflict', new RegExp(`spec.username: local account ${ops.id} \\("ops"\\) already gives username "ops" to ${root.id}`));
    await refused({ username: 'root', sshKeys: [k2], target: { regionId: root.id } }, 'invalid_argument', /spec\.username: "root" is a system account/);
    await refused({ username: 'dev', sshKeys: ['ssh-rsa AAAAB3NzaC1yc2E='], target: { regionId: root.id } }, 'invalid_argument', /spec\.sshKeys\[0\]/);
    await refused({ username: 'dev', target: { regionId: root.id, siteId: s1.id } }, 'invalid_argument', /exactly one of/);
    // Retargeting onto a taken (username, target) is refused too.
    const dev = await create('LocalAccount', 'dev', { username: 'ops', target: { regionId: child.id } });
    await assert.rejects(h.user.update(P, 'LocalAccount', dev.id, { spec: { target: { regionId: root.id } } }), (e: unknown) => isEimError(e) && e.code === 'conflict');
  } finally {
    await h.close();
  }
});

test('node-config manager: a selector target reaches the hosts it matches, follows hosts that start or stop matching, and overrides the site', async () => {
  const h = await openHarness();
  try {
    const create = (kind: string, name: string, spec: Record<string, unknown>): Promise<Resource> => h.user.create(P, kind, { name, spec });
    const region = await create('Region', 'r', {});
    const site = await create('Site', 's', { regionId: region.id });
    const a = await h.host('a', { siteId: site.id });
    const b = await h.host('b', { siteId: site.id });
    await h.user.update(P, 'Host', a.id, { labels: { env: 'canary' } });
    const nc = async (id: string) => (await h.get('Host', id)).status.nodeConfig;
    const k1 = testEd25519Key('site');
    const k2 = testEd25519Key('canary');
    await create('LocalAccount', 'ops-site', { username: 'ops', sshKeys: [k1], target: { siteId: site.id } });
    const canary = await create('LocalAccount', 'ops-canary', { username: 'ops', sshKeys: [k2], target: { selector: 'labels.env = "canary"' } });
    await until(async () => (await nc(a.id))?.accounts[0]?.sshKeys[0] === k2 && (await nc(b.id))?.accounts[0]?.sshKeys[0] === k1, 'the canary host has the selector account, the other the site one');
    const src = (await nc(a.id))!.sources[0];
    assert.deepEqual([src.level, src.targetId, src.resourceId], ['selector', 'labels.env = "canary"', canary.id]);
    // b starts matching; a stops.
    await h.user.update(P, 'Host', b.id, { labels: { env: 'canary' } });
    await h.user.update(P, 'Host', a.id, { labels: { env: 'prod' } });
    await until(async () => (await nc(a.id))?.accounts[0]?.sshKeys[0] === k1 && (await nc(b.id))?.accounts[0]?.sshKeys[0] === k2, 'membership followed');
    await assert.rejects(create('LocalAccount', 'bad', { username: 'x', target: { selector: 'labels.env = ' } }), (e: unknown) => isEimError(e) && e.code === 'invalid_argument' && /spec\.target\.selector/.test(e.message));
  } finally {
    await h.close();
  }
});
