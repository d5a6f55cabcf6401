import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeSouthbound } from './testing/fake-southbound.ts';

const ENTRY = fileURLToPath(new URL('./testing/agent-cli-entry.ts', import.meta.url));
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'eim-agent-cli-'));
  dirs.push(d);
  return d;
};

function eimAgent(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'agent', ...args], { env: { ...process.env, EIM_SERVER: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

test('eim agent: enrolls with a token file, reports this machine, exits 3 when revoked', async () => {
  const sb = await FakeSouthbound.start();
  const dir = tmp();
  const tokenFile = path.join(dir, 'enrollment-token');
  writeFileSync(tokenFile, 'enroll-secret\n', { mode: 0o600 });
  sb.onStream = (s) => sb.when('hardware and a heartbeat', () => sb.hardware.length > 0 && sb.heartbeats.length > 0, () => s.send('revoked', {}));
  sb.onStuck = () => child.kill('SIGTERM');
  const { child, done } = eimAgent(['--server', sb.url, '--enrollment-token-file', tokenFile, '--data-dir', path.join(dir, 'state'), '--heartbeat', '1s', '--executor', 'linux']);
  const r = await done;
  await sb.close();
  assert.deepEqual(sb.stuck, [], r.stderr);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /linux executor: disruptive commands are dry runs/);
  assert.match(r.stderr, /invalidated or deleted.*new enrollment token/);
  assert.equal(sb.enrolls[0].hostname, os.hostname());
  assert.ok(sb.hardware[0].hardware.cpuModel && sb.hardware[0].hardware.memoryBytes! > 0);
  const state = path.join(dir, 'state', 'agent.json');
  assert.equal(statSync(state).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).token, undefined);
});

test('eim agent: SIGTERM stops it cleanly (exit 0); env variables configure it', async () => {
  const sb = await FakeSouthbound.start();
  const dir = tmp();
  const { child, done } = eimAgent([], { EIM_AGENT_SERVER: sb.url, EIM_AGENT_ENROLLMENT_TOKEN: 'enroll-secret', EIM_AGENT_DATA_DIR: dir, EIM_AGENT_EXECUTOR: 'sim', EIM_AGENT_HEARTBEAT: '1s' });
  await sb.waitFor('a heartbeat', () => sb.heartbeats.length > 0, 30_000);
  child.kill('SIGTERM');
  const r = await done;
  await sb.close();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopping/);
});

test('eim agent: --help documents the flags; bad input is a usage error (exit 2)', async () => {
  const help = await eimAgent(['--help']).done;
  assert.equal(help.code, 0);
  for (const flag of ['--server', '--enrollment-token', '--enrollment-token-file', '--data-dir', '--heartbeat', '--rescan', '--executor', '--allow-disruptive', '--target-disk', 'EIM_AGENT_ALLOW_DISRUPTIVE']) {
    assert.ok(help.stdout.includes(flag), `help mentions ${flag}`);
  }
  const noServer = await eimAgent(['--enrollment-token', 'x']).done;
  assert.equal(noServer.code, 2);
  assert.match(noServer.stderr, /no server/);
  const badDisk = await eimAgent(['--server', 'http://127.0.0.1:1', '--target-disk', '/etc/passwd']).done;
  assert.equal(badDisk.code, 2);
  assert.match(badDisk.stderr, /not a block device/);
});
