import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { NodeAccount, NodeConfigFile, NodeConfigPayload } from '../../api/index.ts';
import { testEd25519Key } from '../../testing/ssh-keys.ts';
import { KEYS_BEGIN, KEYS_END } from './authorized-keys.ts';
import type { ExecFn } from './exec-command.ts';
import { LinuxExecutor } from './linux-executor.ts';
import { EMPTY_NODE_CONFIG_MEMORY, type NodeConfigMemory } from './node-config-apply.ts';

// The linux executor's node configuration with --root over a temp dir: the files it writes are on
// disk to look at; the commands that would change the machine are reported (and, with
// --allow-node-config, run through a recording exec, never the real one).

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sandbox = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'eim-node-config-'));
  dirs.push(d);
  mkdirSync(path.join(d, 'etc'), { recursive: true });
  writeFileSync(path.join(d, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npostgres:x:114:120::/var/lib/postgresql:/bin/bash\n');
  return d;
};
const never = new AbortController().signal;
const k1 = testEd25519Key('ops@one', 1);
const k2 = testEd25519Key('ops@two', 2);
const hand = testEd25519Key('added-by-hand', 3);
const ops = (over: Partial<NodeAccount> = {}): NodeAccount => ({ username: 'ops', sshKeys: [k1, k2], sudo: 'nopasswd', groups: ['deploy'], state: 'present', sourceId: 'localaccount-00000001', ...over });
const payload = (accounts: NodeAccount[], configs: NodeConfigFile[] = [], version = 'v1'): NodeConfigPayload => ({ version, accounts, configs });

test('dry run with --root: an account with two keys lands on disk, a removed key goes and the hand-added one stays, absent removes keys and sudoers; useradd and friends are only reported', async () => {
  const root = sandbox();
  const ran: string[] = [];
  const exec: ExecFn = async (c, a) => (ran.push([c, ...a].join(' ')), { code: 0, stdout: '', stderr: '' });
  const ex = new LinuxExecutor({ dataDir: path.join(root, 'data'), root, exec, hasCommand: () => true });
  const keysFile = path.join(root, 'home/ops/.ssh/authorized_keys');
  const sudoers = path.join(root, 'etc/sudoers.d/eim-ops');

  let r = await ex.applyNodeConfig(payload([ops()]), EMPTY_NODE_CONFIG_MEMORY, never);
  assert.deepEqual(ran, [], 'nothing runs without --allow-node-config');
  assert.equal(r.items.length, 1);
  const item = r.items[0];
  assert.equal(item.state, 'dry-run');
  assert.equal(item.item, 'account:ops');
  assert.match(item.message!, /without --allow-node-config/);
  assert.deepEqual(item.wouldRun, [
    `groupadd --root ${root} --force deploy`,
    `useradd --root ${root} --create-home --shell /bin/bash --groups deploy -- ops`,
    `chown -R ops: ${path.join(root, 'home/ops/.ssh')}`,
    `visudo -c -q -f ${path.join(root, 'etc/sudoers.d/.eim-ops.tmp')}`,
  ]);
  assert.equal(readFileSync(keysFile, 'utf8'), `${KEYS_BEGIN}\n${k1}\n${k2}\n${KEYS_END}\n`);
  assert.equal(statSync(keysFile).mode & 0o777, 0o600);
  assert.equal(statSync(path.dirname(keysFile)).mode & 0o777, 0o700);
  assert.equal(readFileSync(sudoers, 'utf8'), '# written by the eim agent for local account ops\nops ALL=(ALL:ALL) NOPASSWD: ALL\n');
  assert.equal(statSync(sudoers).mode & 0o777, 0o440);
  assert.equal(existsSync(path.join(root, 'etc/sudoers.d/.eim-ops.tmp')), false);
  assert.deepEqual(r.memory.accounts, ['ops']);

  // The user adds a key by hand; the spec drops k1.
  writeFileSync(keysFile, `${hand}\n${readFileSync(keysFile, 'utf8')}`);
  r = await ex.applyNodeConfig(payload([ops({ sshKeys: [k2], sudo: 'password' })], [], 'v2'), r.memory, never);
  assert.equal(readFileSync(keysFile, 'utf8'), `${hand}\n${KEYS_BEGIN}\n${k2}\n${KEYS_END}\n`);
  assert.match(readFileSync(sudoers, 'utf8'), /^ops ALL=\(ALL:ALL\) ALL$/m);

  // Absent: eim's keys and the sudoers file go, userdel is reported; the hand-added key stays.
  r = await ex.applyNodeConfig(payload([ops({ state: 'absent' })], [], 'v3'), r.memory, never);
  assert.equal(r.items[0].state, 'dry-run');
  assert.deepEqual(r.items[0].wouldRun, [`userdel --root ${root} -- ops`]);
  assert.equal(readFileSync(keysFile, 'utf8'), `${hand}\n`);
  assert.equal(existsSync(sudoers), false);
  assert.deepEqual(r.memory.accounts, []);
  assert.deepEqual(ran, []);
});

test('with --allow-node-config the commands run (in order), a system account below uid 1000 is refused, a failing visudo leaves no sudoers file, files are written with their mode', async () => {
  const root = sandbox();
  const ran: string[] = [];
  let visudoCode = 0;
  const exec: ExecFn = async (c, a) => {
    ran.push([c, ...a].join(' '));
    return c === 'visudo' ? { code: visudoCode, stdout: '', stderr: visudoCode ? 'parse error near line 2' : '' } : { code: 0, stdout: '', stderr: '' };
  };
  const ex = new LinuxExecutor({ dataDir: path.join(root, 'data'), root, exec, hasCommand: () => true, allowNodeConfig: true });
  const motd: NodeConfigFile = { sourceId: 'customconfig-00000001', name: 'motd', type: 'file', runPolicy: 'on-change', path: '/etc/motd.d/eim', mode: '0640', owner: 'root:adm', content: 'hello\n' };
  const cloud: NodeConfigFile = { sourceId: 'customconfig-00000002', name: 'ntp', type: 'cloud-init', runPolicy: 'once', config: '#cloud-config\nruncmd: [ls]\nntp: {enabled: true}\n' };
  const r = await ex.applyNodeConfig(payload([ops({ groups: [] }), ops({ username: 'postgres' })], [motd, cloud]), EMPTY_NODE_CONFIG_MEMORY, never);
  assert.deepEqual(r.items.map((i) => [i.item, i.state, i.recoverable]), [
    ['account:ops', 'applied', undefined], ['account:postgres', 'failed', false], [`config:${motd.sourceId}`, 'applied', undefined], [`config:${cloud.sourceId}`, 'applied', undefined],
  ]);
  assert.match(r.items[1].message!, /postgres is a system account on this node \(uid 114\)/);
  assert.deepEqual(ran, [
    `useradd --root ${root} --create-home --shell /bin/bash -- ops`,
    `chown -R ops: ${path.join(root, 'home/ops/.ssh')}`,
    `visudo -c -q -f ${path.join(root, 'etc/sudoers.d/.eim-ops.tmp')}`,
    `chown root:adm ${path.join(root, 'etc/motd.d/eim')}`,
    ...['runcmd', 'scripts_user', 'ntp'].map((m) => `cloud-init single --name ${m} --frequency always --file ${path.join(root, 'etc/cloud/cloud.cfg.d/90-eim-ntp.cfg')}`),
  ]);
  assert.equal(readFileSync(path.join(root, 'etc/motd.d/eim'), 'utf8'), 'hello\n');
  assert.equal(statSync(path.join(root, 'etc/motd.d/eim')).mode & 0o777, 0o640);
  assert.deepEqual(r.memory.files, [{ sourceId: motd.sourceId, path: '/etc/motd.d/eim' }]);
  assert.ok(r.memory.ran[cloud.sourceId]);

  // Again: runPolicy once does not run the document again; the file is rewritten in place.
  ran.length = 0;
  const again = await ex.applyNodeConfig(payload([ops({ groups: [] })], [motd, cloud], 'v2'), r.memory, never);
  assert.ok(!ran.some((l) => l.startsWith('cloud-init')), ran.join('\n'));
  assert.match(again.items.at(-1)!.message!, /ran before \(runPolicy once\)/);

  // The config leaves the set: its file goes. A visudo that refuses the sudoers file: no file, an unrecoverable error.
  rmSync(path.join(root, 'etc/sudoers.d/eim-ops'));
  visudoCode = 1;
  const third: NodeConfigMemory = again.memory;
  const last = await ex.applyNodeConfig(payload([ops({ groups: [] })], [], 'v3'), third, never);
  assert.equal(existsSync(path.join(root, 'etc/motd.d/eim')), false);
  const acct = last.items.find((i) => i.item === 'account:ops')!;
  assert.equal(acct.state, 'failed');
  assert.equal(acct.recoverable, false);
  assert.match(acct.message!, /visudo -c -q -f .* exited with 1: parse error near line 2/);
  assert.equal(existsSync(path.join(root, 'etc/sudoers.d/eim-ops')), false);
  assert.equal(existsSync(path.join(root, 'etc/sudoers.d/.eim-ops.tmp')), false);
});

test('without --root and without --allow-node-config nothing is written and nothing runs: every step is reported', async () => {
  const ran: string[] = [];
  const exec: ExecFn = async (c, a) => (ran.push([c, ...a].join(' ')), { code: 0, stdout: '', stderr: '' });
  const ex = new LinuxExecutor({ dataDir: '/nonexistent', exec, hasCommand: () => true });
  const file: NodeConfigFile = { sourceId: 'customconfig-00000001', name: 'x', type: 'file', runPolicy: 'on-change', path: '/etc/eim-test-never-written', mode: '0644', owner: 'root:root', content: 'x' };
  const r = await ex.applyNodeConfig(payload([ops({ username: 'eimtestuser' })], [file]), EMPTY_NODE_CONFIG_MEMORY, never);
  assert.deepEqual(ran, []);
  assert.equal(existsSync('/etc/eim-test-never-written'), false);
  assert.equal(existsSync('/home/eimtestuser'), false);
  assert.deepEqual(r.items.map((i) => i.state), ['dry-run', 'dry-run']);
  assert.deepEqual(r.items[1].wouldRun, ['write /etc/eim-test-never-written \'mode 0644\' \'1 bytes\'', 'chown root:root /etc/eim-test-never-written']);
});
