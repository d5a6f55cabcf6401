import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AgentCommand } from '../../api/index.ts';
import type { ExecFn } from './exec-command.ts';
import { LinuxExecutor } from './linux-executor.ts';

const IMAGE = Buffer.from('pretend this is an OS image\n'.repeat(5000));
const IMAGE_SHA = createHash('sha256').update(IMAGE).digest('hex');
let server: http.Server;
let base: string;
const dirs: string[] = [];
const never = new AbortController().signal;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/image.img') res.writeHead(200, { 'content-length': IMAGE.length }).end(IMAGE);
    else if (req.url === '/moved') res.writeHead(302, { location: '/image.img' }).end();
    else if (req.url === '/busy') res.writeHead(503).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'eim-linux-exec-'));
  dirs.push(d);
  return d;
};
const cmd = (type: AgentCommand['type'], params: Record<string, unknown>): AgentCommand => ({ id: `c-${Math.random()}`, type, params, issuedAt: '2026-01-01T00:00:00.000Z' });
const install = (url: string, sha256 = IMAGE_SHA) => cmd('install-os', { osId: 'os-0a1b2c3d', imageUrl: url, sha256, profileName: 'ubuntu-24.04', profileVersion: '1.0' });

/** An exec that records every call and answers `code`. */
function spyExec(code = 0): ExecFn & { calls: string[] } {
  const calls: string[] = [];
  const fn: ExecFn = async (command, args) => {
    calls.push([command, ...args].join(' '));
    return { code, stdout: '', stderr: code ? 'Access denied' : '' };
  };
  return Object.assign(fn, { calls });
}

test('without --allow-disruptive nothing disruptive is spawned; each result lists the exact commands it would run', async () => {
  const exec = spyExec();
  let downloads = 0;
  const dataDir = tmp();
  const ex = new LinuxExecutor({ dataDir, exec, download: async () => void downloads++, hasCommand: (n) => n === 'apt-get' });
  const cases: [AgentCommand, string[]][] = [
    [cmd('power', { state: 'off' }), ['systemctl poweroff']],
    [cmd('power', { state: 'reset' }), ['systemctl reboot']],
    [cmd('power', { state: 'power-cycle' }), ['systemctl reboot']],
    [cmd('wipe', {}), ["wipefs --all --force '<--target-disk>'"]],
    [
      cmd('update-os', {}),
      ['DEBIAN_FRONTEND=noninteractive apt-get update', 'DEBIAN_FRONTEND=noninteractive apt-get upgrade -y --download-only', 'DEBIAN_FRONTEND=noninteractive apt-get upgrade -y', 'dpkg --audit'],
    ],
    [
      cmd('update-os', { packages: ['openssl', 'curl'], kernelCommand: 'quiet splash' }),
      [
        'DEBIAN_FRONTEND=noninteractive apt-get update',
        'DEBIAN_FRONTEND=noninteractive apt-get install -y --download-only -- openssl curl',
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -- openssl curl',
        `sed -i 's|^GRUB_CMDLINE_LINUX=.*|GRUB_CMDLINE_LINUX="quiet splash"|' /etc/default/grub`,
        'update-grub',
        'dpkg --audit',
        'dpkg-query -W -- openssl curl',
      ],
    ],
    [
      install(`${base}/image.img`),
      [
        `download ${base}/image.img to ${dataDir}/images/${IMAGE_SHA}.img`,
        `verify sha256 ${IMAGE_SHA}`,
        `dd if=${dataDir}/images/${IMAGE_SHA}.img 'of=<--target-disk>' bs=4M conv=fsync oflag=direct status=none`,
        'systemctl reboot',
      ],
    ],
  ];
  for (const [c, wouldRun] of cases) {
    const r = await ex.run(c, () => {}, never);
    assert.equal(r.state, 'succeeded', `${c.type} ${JSON.stringify(c.params)}`);
    assert.deepEqual(r.details, { dryRun: true, wouldRun });
    assert.match(r.message!, /^dry run: would .*without --allow-disruptive/);
  }
  assert.deepEqual(exec.calls, [], 'nothing was spawned');
  assert.equal(downloads, 0, 'nothing was downloaded');
});

test('power on needs no action; apply-config writes config.json (0600) and reports the version', async () => {
  const exec = spyExec();
  const dataDir = tmp();
  const ex = new LinuxExecutor({ dataDir, exec, allowDisruptive: true });
  const on = await ex.run(cmd('power', { state: 'on' }), () => {}, never);
  assert.equal(on.state, 'succeeded');
  const applied = await ex.run(cmd('apply-config', { version: 7, config: { telemetry: { level: 'info' } } }), () => {}, never);
  assert.equal(applied.state, 'succeeded');
  assert.equal(applied.details?.configVersion, '7');
  const written = JSON.parse(readFileSync(path.join(dataDir, 'config.json'), 'utf8'));
  assert.deepEqual([written.version, written.config], ['7', { telemetry: { level: 'info' } }]);
  assert.equal(statSync(path.join(dataDir, 'config.json')).mode & 0o777, 0o600);
  assert.deepEqual(exec.calls, []);
});

test('with --allow-disruptive power runs systemctl; a refusal is an unrecoverable failure', async () => {
  const ok = spyExec(0);
  const r = await new LinuxExecutor({ dataDir: tmp(), exec: ok, allowDisruptive: true }).run(cmd('power', { state: 'reset' }), () => {}, never);
  assert.equal(r.state, 'succeeded');
  assert.deepEqual(ok.calls, ['systemctl reboot']);
  const denied = spyExec(1);
  const f = await new LinuxExecutor({ dataDir: tmp(), exec: denied, allowDisruptive: true }).run(cmd('power', { state: 'off' }), () => {}, never);
  assert.deepEqual([f.state, f.recoverable], ['failed', false]);
  assert.match(f.message!, /systemctl poweroff exited with 1: Access denied/);
});

test('install-os: a sha256 mismatch is an unrecoverable failure and leaves no file', async () => {
  const exec = spyExec();
  const dataDir = tmp();
  const ex = new LinuxExecutor({ dataDir, exec, allowDisruptive: true, targetDisk: '/dev/fake' });
  const r = await ex.run(install(`${base}/image.img`, 'b'.repeat(64)), () => {}, never);
  assert.deepEqual([r.state, r.recoverable], ['failed', false]);
  assert.match(r.message!, new RegExp(`checksum mismatch .*expected sha256 ${'b'.repeat(64)}, got ${IMAGE_SHA}`));
  assert.deepEqual(readdirSync(path.join(dataDir, 'images')), []);
  assert.deepEqual(exec.calls, [], 'nothing written to the disk');
});

test('install-os: a 404 is unrecoverable, a 503 recoverable', async () => {
  const ex = new LinuxExecutor({ dataDir: tmp(), exec: spyExec(), allowDisruptive: true });
  const missing = await ex.run(install(`${base}/nope.img`), () => {}, never);
  assert.deepEqual([missing.state, missing.recoverable], ['failed', false]);
  assert.match(missing.message!, /HTTP 404/);
  const busy = await ex.run(install(`${base}/busy`), () => {}, never);
  assert.deepEqual([busy.state, busy.recoverable], ['failed', true]);
});

test('install-os with --allow-disruptive but no --target-disk: downloads and verifies, writes nothing, says so', async () => {
  const exec = spyExec();
  const dataDir = tmp();
  const progress: number[] = [];
  const r = await new LinuxExecutor({ dataDir, exec, allowDisruptive: true }).run(install(`${base}/moved`), (p) => progress.push(p), never);
  assert.equal(r.state, 'succeeded', r.message);
  assert.match(r.message!, /verified its sha256; did not write it: no --target-disk/);
  const file = path.join(dataDir, 'images', `${IMAGE_SHA}.img`);
  assert.equal(r.details?.dryRun, true);
  assert.equal(r.details?.downloaded, file);
  assert.ok(existsSync(file));
  assert.deepEqual(exec.calls, []);
  assert.ok(progress.includes(90) && progress.every((p, i) => i === 0 || p >= progress[i - 1]), `progress ${progress}`);
});

test('install-os with --allow-disruptive and --target-disk: dd to that disk, then reboot', async () => {
  const exec = spyExec();
  const dataDir = tmp();
  const r = await new LinuxExecutor({ dataDir, exec, allowDisruptive: true, targetDisk: '/dev/nvme0n1' }).run(install(`${base}/image.img`), () => {}, never);
  assert.equal(r.state, 'succeeded', r.message);
  assert.deepEqual(exec.calls, [`dd if=${dataDir}/images/${IMAGE_SHA}.img of=/dev/nvme0n1 bs=4M conv=fsync oflag=direct status=none`, 'systemctl reboot']);
});

test('bad params are unrecoverable; update-os without a package manager too', async () => {
  const ex = new LinuxExecutor({ dataDir: tmp(), exec: spyExec(), hasCommand: () => false });
  for (const c of [install('ftp://x'), install(`${base}/image.img`, 'short'), cmd('power', { state: 'sideways' }), cmd('apply-config', { config: {} }), cmd('update-os', {})]) {
    const r = await ex.run(c, () => {}, never);
    assert.deepEqual([r.state, r.recoverable], ['failed', false], JSON.stringify(c.params));
  }
});

test('update-os with dnf and --allow-disruptive runs the plan phase by phase, kernel command included; a bad kernel command runs nothing', async () => {
  const exec = spyExec();
  const ex = new LinuxExecutor({ dataDir: tmp(), exec, allowDisruptive: true, hasCommand: (n) => n === 'dnf' });
  const messages: string[] = [];
  const r = await ex.run(cmd('update-os', { packages: ['kernel'], kernelCommand: 'console=ttyS0' }), (_p, m) => messages.push(m!), never);
  assert.equal(r.state, 'succeeded');
  assert.deepEqual(exec.calls, ['dnf install -y --downloadonly -- kernel', 'dnf install -y -- kernel', 'grubby --update-kernel=ALL --args=console=ttyS0', 'dnf check', 'rpm -q -- kernel']);
  assert.deepEqual(
    messages.map((m) => m.split(':')[0]),
    ['downloading', 'applying', 'applying', 'verifying', 'verifying'],
  );
  const bad = await ex.run(cmd('update-os', { kernelCommand: 'init="/bin/sh"' }), () => {}, never);
  assert.deepEqual([bad.state, bad.recoverable], ['failed', false]);
  assert.equal(exec.calls.length, 5, 'nothing more ran');
});

test('update-os: a package name that an option could hide in runs nothing; options end with -- before the user-supplied list', async () => {
  for (const manager of ['apt-get', 'dnf']) {
    const exec = spyExec();
    const ex = new LinuxExecutor({ dataDir: tmp(), exec, allowDisruptive: true, hasCommand: (n) => n === manager });
    for (const bad of ['-oDPkg::Pre-Invoke::=reboot', '-oAPT::Get::AllowUnauthenticated=true', '--setopt=gpgcheck=0', 'a;reboot', 'open*', '']) {
      const r = await ex.run(cmd('update-os', { packages: ['openssl', bad] }), () => {}, never);
      assert.deepEqual([r.state, r.recoverable], ['failed', false], `${manager} ${JSON.stringify(bad)}`);
      assert.match(r.message!, /package names/);
    }
    assert.equal(exec.calls.length, 0, `${manager}: nothing ran`);
    const ok = await ex.run(cmd('update-os', { packages: ['openssl', 'libssl3:amd64', 'curl=7.81.0-1ubuntu1.15'] }), () => {}, never);
    assert.equal(ok.state, 'succeeded');
    const withList = exec.calls.filter((c) => c.includes('openssl'));
    assert.ok(withList.length >= 3);
    for (const c of withList) assert.match(c, / -- openssl libssl3:amd64 curl=7\.81\.0-1ubuntu1\.15$/, `options end before the list: ${c}`);
  }
});
