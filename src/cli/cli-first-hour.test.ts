import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { updateKey } from '../api/index.ts';
import { call } from '../testing/http-client.ts';
import { EIM_BIN } from '../testing/server-process.ts';
import { type CliHarness, eventually, startCliHarness } from './cli-harness.ts';

const hasFish = spawnSync('fish', ['--version']).status === 0;

// What a new operator typed in their first hour (issue 11), against the real binary and a real
// server: each test is a command from the README or the issue, and what it must print.

const SHA = 'a'.repeat(64);

describe('eim CLI: an operator\'s first hour', () => {
  let h: CliHarness;
  const api = (path: string, o: { method?: string; body?: unknown; token?: string } = {}) => call(`${h.server.url}/v1/projects/default${path}`, { token: h.server.token, ...o });
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

  test('--limit says on stderr when more rows match, in a table and in json', async () => {
    for (const name of ['lim-a', 'lim-b', 'lim-c']) assert.equal((await h.eim(['create', 'region', name])).code, 0);
    const table = await h.eim(['get', 'regions', '--filter', 'name = "lim-*"', '--limit', '2']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout.trim().split('\n').length, 3, 'a header and two rows');
    assert.match(table.stderr, /^showing 2 of 3: more match \(raise --limit, or leave it out for all\)$/m);
    const json = await h.eim(['get', 'regions', '--filter', 'name = "lim-*"', '--limit', '2', '-o', 'json']);
    assert.equal(JSON.parse(json.stdout).items.length, 2);
    assert.match(json.stderr, /showing 2 of 3/);
    const all = await h.eim(['get', 'regions', '--filter', 'name = "lim-*"', '--limit', '3']);
    assert.equal(all.stderr, '', 'nothing to say when the limit holds everything');
  });

  test('eim token list shows the project\'s tokens, never a token itself', async () => {
    const made = await h.eim(['token', 'create', '--role', 'viewer', '--ttl', '1h']);
    assert.equal(made.code, 0, made.stderr);
    const secret = made.stdout.trim();
    const id = /token (\S+):/.exec(made.stderr)![1];
    assert.equal((await h.eim(['token', 'revoke', id])).code, 0);
    const list = await h.eim(['token', 'list'], { env: { COLUMNS: '200' } });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+ROLE\s+SUBJECT\s+HOST\s+CREATED\s+EXPIRES\s+STATE$/m);
    assert.match(list.stdout, new RegExp(`^${id}\\s+viewer\\s+viewer-token\\s+-\\s+\\d+s ago\\s+in 59m\\S*\\s+revoked`, 'm'));
    const json = await h.eim(['token', 'list', '-o', 'json']);
    assert.ok(JSON.parse(json.stdout).items.some((t: { id: string }) => t.id === id));
    // An agent token is bound to its host: the table names the host.
    const host = (await api('/hosts', { method: 'POST', body: { name: 'edge-tokened', spec: { serialNumber: 'SN-TOKENED', desiredState: 'onboarded' } } })).json as { id: string };
    const enrol = (await api('/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token as string;
    const agent = await call(`${h.server.url}/southbound/v1/enroll`, { method: 'POST', token: enrol, body: { serialNumber: 'SN-TOKENED', hostname: 'edge-tokened' } });
    assert.equal(agent.status, 200);
    const withAgent = await h.eim(['token', 'list'], { env: { COLUMNS: '200' } });
    assert.match(withAgent.stdout, new RegExp(`^\\S+\\s+agent\\s+agent/${host.id}\\s+edge-tokened\\s`, 'm'), withAgent.stdout);
    for (const out of [list.stdout, json.stdout]) assert.ok(!out.includes(secret), 'the token itself is never listed');
    const viewer = await h.eim(['token', 'list'], { env: { EIM_TOKEN: secret } });
    assert.equal(viewer.code, 1, 'a revoked token may not list');
  });

  test('eim token list shows every token of a project past one page of the server (1,000), following nextPageToken', async () => {
    const base = `${h.server.url}/v1/projects`;
    assert.equal((await call(base, { method: 'POST', token: h.server.token, body: { name: 'many-tokens' } })).status, 201);
    const issued = new Set<string>();
    for (let i = 0; i < 1003; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, 1003 - i) }, () => call(`${base}/many-tokens/tokens`, { method: 'POST', token: h.server.token, body: { role: 'viewer', ttlSeconds: 3600 } })));
      for (const r of batch) issued.add((r.json as { id: string }).id);
    }
    assert.equal(issued.size, 1003);
    const first = await call(`${base}/many-tokens/tokens`, { token: h.server.token });
    assert.equal((first.json as { items: unknown[] }).items.length, 1000, 'one request answers one page');
    const json = await h.eim(['token', 'list', '--project', 'many-tokens', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const ids = (JSON.parse(json.stdout).items as { id: string }[]).map((t) => t.id);
    assert.equal(ids.length, 1003, 'each token once');
    assert.deepEqual(new Set(ids), issued);
    const table = await h.eim(['token', 'list', '--project', 'many-tokens'], { env: { COLUMNS: '200' } });
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout.trim().split('\n').length, 1 + 1003, 'a header and a row per token');
  });

  test('completion: bash and fish complete commands, kinds and resource names from the server', async () => {
    const dir = join(tmpdir(), `eim-completion-${process.pid}`);
    const script = (shell: string) => {
      const file = `${dir}.${shell}`;
      writeFileSync(file, spawnSync(process.execPath, [EIM_BIN, 'completion', shell], { encoding: 'utf8' }).stdout);
      return file;
    };
    // A loaded CI machine may take longer than the 2 s completion budget to start node: the test allows more.
    const env = { ...process.env, EIM_CONFIG: h.configPath, NO_COLOR: '1', EIM_COMPLETION_TIMEOUT_MS: '20000' };
    const bashFile = script('bash');
    const bash = (words: string[]) =>
      spawnSync('bash', ['-c', `eim() { ${JSON.stringify(process.execPath)} ${JSON.stringify(EIM_BIN)} "$@"; }; source ${bashFile}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _eim; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', env })
        .stdout.trim().split('\n').filter(Boolean).sort();
    assert.deepEqual(bash(['eim', 'get', 'region', 'eu']), ['eu-north', 'eu-west']);
    assert.deepEqual(bash(['eim', 'describe', 'sites', '']), ['dublin-1']);
    assert.deepEqual(bash(['eim', 'host', 'onboard', '--region', 'eu-n']), ['eu-north']);
    assert.ok(bash(['eim', 'get', '']).includes('operating-systems'), 'kinds');
    assert.deepEqual(bash(['eim', 'instance', '']), ['retry']);
    assert.deepEqual(bash(['eim', 'completion', '']), ['bash', 'fish', 'zsh']);
    const names = await h.eim(['__complete', 'names', 'regions', 'eu-'], { env: { EIM_COMPLETION_TIMEOUT_MS: '20000' } });
    assert.deepEqual(names.stdout.trim().split('\n'), ['eu-north', 'eu-west']);
    const offline = await h.eim(['__complete', 'names', 'regions', 'eu-'], { env: { EIM_SERVER: 'http://127.0.0.1:9' } });
    assert.deepEqual([offline.code, offline.stdout, offline.stderr], [0, '', ''], 'no server: no names, no error');
    const fishFile = script('fish');
    if (!hasFish) return void console.log('fish is not installed: its completion script was only generated, not run');
    const fish = (line: string) =>
      spawnSync('fish', ['-c', `function eim; ${JSON.stringify(process.execPath)} ${JSON.stringify(EIM_BIN)} $argv; end; source ${fishFile}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8', env })
        .stdout.trim().split('\n').map((l) => l.split('\t')[0]).filter(Boolean).sort();
    assert.deepEqual(fish('eim get regions eu-'), ['eu-north', 'eu-west']);
    assert.ok(fish('eim host ').includes('retry'));
    assert.ok(fish('eim get -o ').includes('wide'));
  });

  test('describe counts them instead of filling its Events with them; the next change is named alone', async () => {
    const host = (await api('/hosts', { method: 'POST', body: { name: 'edge-seen', spec: { desiredState: 'onboarded', desiredPowerState: 'on' } } })).json as { id: string };
    const manager = (await api('/tokens', { method: 'POST', body: { role: 'manager' } })).json.token as string;
    const status = (body: unknown) => api(`/hosts/${host.id}/status`, { method: 'PATCH', body, token: manager });
    assert.equal((await status({ hostStatus: { indicator: 'idle', message: 'running', timestamp: new Date().toISOString() }, lastSeenAt: '2026-12-06T10:00:00.000Z' })).status, 200);
    for (const at of ['2026-12-06T10:01:00.000Z', '2026-12-06T10:02:00.000Z', '2026-12-06T10:03:00.000Z']) assert.equal((await status({ lastSeenAt: at })).status, 200);
    assert.equal((await api(`/hosts/${host.id}`, { method: 'PATCH', body: { spec: { desiredPowerState: 'off' } } })).status, 200);
    const r = await h.eim(['describe', 'host', 'edge-seen']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.slice(r.stdout.indexOf('Events'));
    assert.match(events, /^Events \(3 lastSeenAt updates not shown\):/);
    assert.doesNotMatch(events, /status\.lastSeenAt/, events);
    assert.match(events, /UPDATED .* spec\.desiredPowerState\s*$/m, events);
  });

  test('watch prints a real change and skips the lastSeenAt-only update', async () => {
    const host = (await api('/hosts', { method: 'POST', body: { name: 'edge-watched', spec: { desiredState: 'onboarded' } } })).json as { id: string; revision: number };
    const manager = (await api('/tokens', { method: 'POST', body: { role: 'manager' } })).json.token as string;
    const status = (body: unknown) => api(`/hosts/${host.id}/status`, { method: 'PATCH', body, token: manager });
    await status({ lastSeenAt: '2026-12-06T10:00:00.000Z' });
    await status({ lastSeenAt: '2026-12-06T10:01:00.000Z' });
    await api(`/hosts/${host.id}`, { method: 'PATCH', body: { labels: { line: 'a' } } });
    const w = h.spawnEim(['watch', 'hosts', '--since', String(host.revision - 1)]);
    await eventually(() => /labels\.line/.test(w.output()), 'the label change is printed');
    await w.stop();
    const out = w.output();
    const lines = out.split('\n').filter((l) => l.includes('edge-watched'));
    assert.equal(lines.length, 2, `CREATED and the label change, not the two lastSeenAt updates:\n${out}`);
    assert.doesNotMatch(out, /lastSeenAt/);
  });

  test('a settled-looking status of another key, or that counts fewer instances than are attached, does not end the watch', async () => {
    const made = async (path: string, body: unknown) => {
      const r = await api(path, { method: 'POST', body });
      assert.equal(r.status, 201, r.body);
      return r.json;
    };
    const os = await made('/operating-systems', { name: 'u24', spec: { imageUrl: 'https://images.example/u24.img', sha256: SHA, profileName: 'ubuntu', profileVersion: '24.04', osType: 'mutable', architecture: 'x86_64' } });
    const policy = await made('/os-update-policies', { name: 'to-24', spec: { policy: 'target', targetOsId: os.id, rollout: { maxConcurrent: 5, maxFailures: 3 } } });
    const host = await made('/hosts', { name: 'edge-upd', spec: { desiredState: 'onboarded' } });
    await made('/instances', { name: 'edge-upd', spec: { hostId: host.id, osId: os.id, desiredState: 'running', osUpdatePolicyId: policy.id } });
    const manager = (await api('/tokens', { method: 'POST', body: { role: 'manager' } })).json.token as string;
    const rollout = (updateKey: string, total: number) =>
      api(`/os-update-policies/${policy.id}/status`, { method: 'PATCH', token: manager, body: { rollout: { updateKey, total, upToDate: total, pending: 0, running: 0, succeeded: total, failed: 0, peakRunning: 0, halted: false } } });
    // What the policy showed before the instance was attached: done, over none.
    assert.equal((await rollout(updateKey(os.id, undefined, undefined), 0)).status, 200);
    const w = h.spawnEim(['update', 'status', '--policy', 'to-24', '--watch', '--interval', '0.2']);
    // It has read the policy (its first lines are out), then had time for a few more looks.
    await eventually(() => /to-24 /.test(w.output()), 'the first status lines', 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(w.exitCode(), undefined, `it waits for the rollout of the instance attached now:\n${w.output()}`);
    // Another update's rollout (an older key), counting the instance: still not it.
    assert.equal((await rollout('0000000000000000', 1)).status, 200);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(w.exitCode(), undefined, `another key is another rollout:\n${w.output()}`);
    assert.equal((await rollout(updateKey(os.id, undefined, undefined), 1)).status, 200);
    await eventually(() => w.exitCode() !== undefined, 'the watch ends on the current rollout', 20_000);
    assert.equal(w.exitCode(), 0, w.output());
    assert.match(w.output(), /to-24 .* 1\/1 +up to date 1/);

    // A policy with a selector: its total holds the matched hosts' instances, which only the
    // manager counts; the current key is enough.
    const bySelector = await made('/os-update-policies', { name: 'by-line', spec: { policy: 'target', targetOsId: os.id, target: { selector: 'labels.line = "3"' }, rollout: { maxConcurrent: 5, maxFailures: 3 } } });
    const done = { updateKey: updateKey(os.id, undefined, undefined), total: 7, upToDate: 7, pending: 0, running: 0, succeeded: 7, failed: 0, peakRunning: 2, halted: false };
    assert.equal((await api(`/os-update-policies/${bySelector.id}/status`, { method: 'PATCH', token: manager, body: { rollout: done } })).status, 200);
    const s = h.spawnEim(['update', 'status', '--policy', 'by-line', '--watch', '--interval', '0.2']);
    await eventually(() => s.exitCode() !== undefined, 'a settled selector policy ends the watch', 20_000);
    assert.equal(s.exitCode(), 0, s.output());
    assert.match(s.output(), /by-line .* 7\/7 +up to date 7/);
  });
});
