import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testEd25519Key } from '../../testing/ssh-keys.ts';
import { type CustomConfig, effectiveNodeConfig, type LocalAccount, type NodeConfigLevel } from './effective-node-config.ts';

const hex = (n: number) => n.toString(16).padStart(8, '0');
let seq = 0;
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

function account(username: string, spec: Partial<LocalAccount['spec']> = {}, createdAt = at(0)): LocalAccount {
  const n = ++seq;
  return { kind: 'LocalAccount', id: `localaccount-${hex(n)}`, project: 'p', name: `a${n}`, labels: {}, revision: 1, generation: 1, createdAt, updatedAt: createdAt, spec: { username, ...spec }, status: {} } as LocalAccount;
}
function config(name: string, spec: Partial<CustomConfig['spec']>, createdAt = at(0)): CustomConfig {
  const n = ++seq;
  return { kind: 'CustomConfig', id: `customconfig-${hex(n)}`, project: 'p', name, labels: {}, revision: 1, generation: 1, createdAt, updatedAt: createdAt, spec, status: {} } as CustomConfig;
}

const ROOT = 'region-00000001';
const CHILD = 'region-00000002';
const SITE = 'site-00000001';
const I1 = 'inst-00000001';
const I2 = 'inst-00000002';
const t = <R>(resource: R) => ({ resource, via: 'target' as const });
const lvl = (level: NodeConfigLevel['level'], targetId: string, accounts: LocalAccount[] = [], configs: CustomConfig[] = [], viaInstance: (LocalAccount | CustomConfig)[] = []): NodeConfigLevel => ({
  level, targetId,
  accounts: [...accounts.map(t), ...viaInstance.filter((r): r is LocalAccount => r.kind === 'LocalAccount').map((resource) => ({ resource, via: 'instance' as const }))],
  configs: [...configs.map(t), ...viaInstance.filter((r): r is CustomConfig => r.kind === 'CustomConfig').map((resource) => ({ resource, via: 'instance' as const }))],
});

const k1 = testEd25519Key('one', 1);
const k2 = testEd25519Key('two', 2);

test('region → site → instance: the most specific account of a username wins and names what it overrides; defaults filled in; keys normalized', () => {
  const rootOps = account('ops', { sshKeys: [k1], sudo: 'nopasswd' });
  const siteOps = account('ops', { sshKey: `  ${k2}  `, groups: ['wheel', 'adm2'] });
  const dev = account('dev', { sshKeys: [k1] });
  const e = effectiveNodeConfig([lvl('region', ROOT, [rootOps, dev]), lvl('region', CHILD), lvl('site', SITE, [siteOps])]);
  assert.deepEqual(e.accounts, [
    { username: 'dev', sshKeys: [k1], sudo: 'none', groups: [], state: 'present', sourceId: dev.id },
    { username: 'ops', sshKeys: [k2], sudo: 'none', groups: ['adm2', 'wheel'], state: 'present', sourceId: siteOps.id },
  ]);
  assert.deepEqual(e.sources, [
    { item: 'account:dev', resourceId: dev.id, level: 'region', targetId: ROOT, via: 'target' },
    { item: 'account:ops', resourceId: siteOps.id, level: 'site', targetId: SITE, via: 'target', overrides: [rootOps.id] },
  ]);
  assert.deepEqual(e.conflicts, []);
  assert.match(e.version, /^[0-9a-f]{16}$/);
  // An instance's localAccountId is more specific than the site.
  const instOps = account('ops', { sshKeys: [k1, k2] });
  const e2 = effectiveNodeConfig([lvl('region', ROOT, [rootOps]), lvl('site', SITE, [siteOps]), lvl('instance', I1, [], [], [instOps])]);
  assert.equal(e2.accounts[0].sourceId, instOps.id);
  assert.deepEqual(e2.sources[0], { item: 'account:ops', resourceId: instOps.id, level: 'instance', targetId: I1, via: 'instance', overrides: [siteOps.id, rootOps.id] });
});

test('state absent at a more specific level takes a region account away from that site (it stays in the set as absent)', () => {
  const rootOps = account('ops', { sshKeys: [k1] });
  const gone = account('ops', { state: 'absent' });
  const e = effectiveNodeConfig([lvl('region', ROOT, [rootOps]), lvl('site', SITE, [gone])]);
  assert.deepEqual(e.accounts, [{ username: 'ops', sshKeys: [], sudo: 'none', groups: [], state: 'absent', sourceId: gone.id }]);
  // The version tells present from absent.
  assert.notEqual(e.version, effectiveNodeConfig([lvl('region', ROOT, [rootOps])]).version);
});

test('the same username twice at one level is a conflict naming both; the older is kept; one resource by two routes is not', () => {
  const older = account('ops', { sshKeys: [k1] }, at(1));
  const younger = account('ops', { sshKeys: [k2] }, at(2));
  const e = effectiveNodeConfig([lvl('site', SITE, [younger, older])]);
  assert.equal(e.accounts[0].sourceId, older.id);
  assert.equal(e.conflicts.length, 1);
  assert.equal(e.conflicts[0].keptId, older.id);
  assert.equal(e.conflicts[0].ignoredId, younger.id);
  assert.ok(e.conflicts[0].message.includes(older.id) && e.conflicts[0].message.includes(younger.id));
  // Two instances of one host are equally specific.
  const e2 = effectiveNodeConfig([lvl('site', SITE), lvl('instance', I1, [older]), lvl('instance', I2, [younger])]);
  assert.equal(e2.conflicts.length, 1);
  // An account an instance both targets and names counts once.
  const e3 = effectiveNodeConfig([lvl('instance', I1, [older], [], [older])]);
  assert.deepEqual(e3.conflicts, []);
  assert.equal(e3.accounts.length, 1);
});

test('configs: cloud-init documents all apply in name order; files override by path; defaults filled in; the version follows content', () => {
  const doc = '#cloud-config\nruncmd: [ls]\n';
  const a = config('b-ntp', { type: 'cloud-init', config: doc, target: { regionId: ROOT } });
  const b = config('a-motd', { type: 'cloud-init', config: doc, runPolicy: 'once' });
  const regionFile = config('motd-region', { type: 'file', path: '/etc/motd', content: 'region' });
  const siteFile = config('motd-site', { type: 'file', path: '/etc/motd', content: 'site', mode: '0600', owner: 'ops' });
  const e = effectiveNodeConfig([lvl('region', ROOT, [], [a, regionFile]), lvl('site', SITE, [], [siteFile]), lvl('instance', I1, [], [], [b])]);
  assert.deepEqual(e.configs.map((c) => c.name), ['a-motd', 'b-ntp', 'motd-site']);
  assert.deepEqual(e.configs[0], { sourceId: b.id, name: 'a-motd', type: 'cloud-init', runPolicy: 'once', config: doc });
  assert.deepEqual(e.configs[2], { sourceId: siteFile.id, name: 'motd-site', type: 'file', runPolicy: 'on-change', path: '/etc/motd', mode: '0600', owner: 'ops', content: 'site' });
  assert.deepEqual(e.sources.find((s) => s.resourceId === siteFile.id)!.overrides, [regionFile.id]);
  const changed = { ...siteFile, spec: { ...siteFile.spec, content: 'site!' } } as CustomConfig;
  assert.notEqual(effectiveNodeConfig([lvl('site', SITE, [], [changed])]).version, effectiveNodeConfig([lvl('site', SITE, [], [siteFile])]).version);
  assert.equal(effectiveNodeConfig([]).accounts.length, 0);
});

test('bounded: past 64 accounts or the byte budget, items are left out and said so', () => {
  const many = Array.from({ length: 70 }, (_, i) => account(`u${String(i).padStart(2, '0')}`, { sshKeys: [k1] }));
  const e = effectiveNodeConfig([lvl('site', SITE, many)]);
  assert.equal(e.accounts.length, 64);
  assert.equal(e.conflicts.length, 6);
  assert.match(e.conflicts[0].message, /at most 64/);
  const big = Array.from({ length: 4 }, (_, i) => config(`big${i}`, { type: 'file', path: `/etc/big${i}`, content: 'x'.repeat(60_000) }));
  const e2 = effectiveNodeConfig([lvl('site', SITE, [], big)]);
  assert.equal(e2.configs.length, 2);
  assert.match(e2.conflicts[0].message, /KiB/);
});
