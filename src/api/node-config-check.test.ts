import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testEd25519Key, testRsaKey } from '../testing/ssh-keys.ts';
import { cloudConfigKeys, cloudConfigProblem } from './cloud-config.ts';
import { customConfigProblem, localAccountProblem } from './node-config-check.ts';

const site = { siteId: 'site-0a1b2c3d' };

test('cloud-config: header, valid YAML, a mapping of known keys', () => {
  assert.equal(cloudConfigProblem('#cloud-config\nruncmd:\n  - [sh, -c, "echo hi"]\nwrite_files:\n  - path: /etc/x\n    content: y\npackages: [curl]\nntp: {enabled: true}\n'), undefined);
  assert.equal(cloudConfigProblem('#cloud-config\n'), undefined, 'an empty document does nothing, and is valid');
  assert.equal(cloudConfigProblem('#cloud-config  \r\nusers: []\n'), undefined);
  assert.match(cloudConfigProblem('runcmd: [ls]\n')!, /first line must be "#cloud-config"/);
  assert.match(cloudConfigProblem('#!/bin/sh\necho hi\n')!, /first line/);
  assert.match(cloudConfigProblem('#cloud-config\nruncmd: [ls\n')!, /not valid YAML/);
  assert.match(cloudConfigProblem('#cloud-config\nruncmd: a\nruncmd: b\n')!, /not valid YAML/);
  assert.match(cloudConfigProblem('#cloud-config\n- runcmd\n')!, /mapping/);
  assert.match(cloudConfigProblem('#cloud-config\nrun_cmd: [ls]\npackages: [x]\n')!, /does not know: "run_cmd"/);
  // An alias bomb (10^5 strings from a few lines) is refused, not expanded.
  const keys = ['bootcmd', 'runcmd', 'packages', 'write_files', 'users'];
  const bomb = `#cloud-config\n${keys.map((k, i) => `${k}: &k${i} [${Array(10).fill(i === 0 ? 'x' : `*k${i - 1}`).join(', ')}]`).join('\n')}\n`;
  assert.match(cloudConfigProblem(bomb)!, /not valid YAML/);
  assert.deepEqual(cloudConfigKeys('#cloud-config\nruncmd: [ls]\npackages: [curl]\n'), ['runcmd', 'packages']);
});

test('local accounts: reserved names, keys checked and named by index, sshKey or sshKeys, groups, target', () => {
  const key = testEd25519Key('a');
  assert.equal(localAccountProblem({ username: 'ops', sshKeys: [key, testRsaKey(3072)], target: site }), undefined);
  assert.equal(localAccountProblem({ username: 'ops', sshKey: key }), undefined, 'the original shape still works, without a target');
  for (const u of ['root', 'daemon', 'bin', 'sys', 'www-data', 'systemd-oom', 'nobody']) assert.match(localAccountProblem({ username: u, sshKeys: [] })!, new RegExp(`spec.username: "${u}" is a system account`));
  assert.match(localAccountProblem({ username: 'ops', sshKeys: [key, testRsaKey(1024)] })!, /^spec\.sshKeys\[1\]: the SSH public key is an RSA key of 1024 bits/);
  assert.match(localAccountProblem({ username: 'ops', sshKey: 'ssh-rsa AAAA' })!, /^spec\.sshKey: the SSH public key/);
  assert.match(localAccountProblem({ username: 'ops', sshKeys: [key, key] })!, /spec\.sshKeys\[1\]: the same key is listed twice/);
  assert.match(localAccountProblem({ username: 'ops', sshKey: key, sshKeys: [key] })!, /set one of them, not both/);
  assert.match(localAccountProblem({ username: 'ops', groups: ['docker', 'shadow'] })!, /spec\.groups\[1\]/);
  assert.match(localAccountProblem({ username: 'ops', target: { ...site, regionId: 'region-0a1b2c3d' } })!, /exactly one of regionId, siteId, instanceId, selector \(it sets regionId, siteId\)/);
  assert.match(localAccountProblem({ username: 'ops', target: {} })!, /sets none/);
  assert.match(localAccountProblem({ username: 'ops', shell: '/bin/../tmp/sh' })!, /spec\.shell/);
});

test('custom configs: cloud-init documents validated, file paths under /etc or /opt without ..', () => {
  assert.equal(customConfigProblem({ type: 'cloud-init', config: '#cloud-config\nruncmd: [ls]\n', target: site }), undefined);
  assert.equal(customConfigProblem({ config: '#cloud-config\n' }), undefined, 'type defaults to cloud-init');
  assert.match(customConfigProblem({ type: 'cloud-init', config: 'runcmd: [ls]' })!, /^spec\.config the first line/);
  assert.match(customConfigProblem({ type: 'cloud-init', config: '#cloud-config\n', path: '/etc/x' })!, /^spec\.path: only for type "file"/);
  assert.equal(customConfigProblem({ type: 'file', path: '/etc/eim/motd', content: 'hi', mode: '0644', owner: 'root:root' }), undefined);
  assert.equal(customConfigProblem({ type: 'file', path: '/opt/app/app.conf', content: '' }), undefined);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ type: 'file', path: 'etc/x', content: '' }, /must be absolute/],
    [{ type: 'file', path: '/etc/../root/.ssh/authorized_keys', content: '' }, /"\." or "\.\."/],
    [{ type: 'file', path: '/tmp/x', content: '' }, /under \/etc or \/opt/],
    [{ type: 'file', path: '/etcetera/x', content: '' }, /under \/etc or \/opt/],
    [{ type: 'file', path: '/etc', content: '' }, /under \/etc or \/opt/],
    [{ type: 'file', path: '/etc//x', content: '' }, /no empty components/],
    [{ type: 'file', path: '/etc/x y', content: '' }, /letters, digits/],
    [{ type: 'file', path: '/etc/sudoers.d/eim-ops', content: '' }, /managed by eim/],
    [{ type: 'file', path: '/etc/shadow', content: '' }, /accounts database/],
    [{ type: 'file', content: '' }, /spec\.path is required/],
    [{ type: 'file', path: '/etc/x' }, /spec\.content is required/],
    [{ type: 'file', path: '/etc/x', content: '', config: '#cloud-config\n' }, /spec\.config: only for type "cloud-init"/],
  ];
  for (const [spec, why] of bad) assert.match(customConfigProblem(spec) ?? 'accepted', why, JSON.stringify(spec));
});
