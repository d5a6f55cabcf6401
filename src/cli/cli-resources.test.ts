import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { call } from '../testing/http-client.ts';
import { type CliHarness, eventually, startCliHarness } from './cli-harness.ts';

// The real `eim` binary against a real server: get in every format, the resource verbs, watch,
// exit codes and the error line, help and completion.

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace leaked:\n${stderr}`);

describe('eim CLI: the resource verbs', () => {
  let h: CliHarness;
  before(async () => {
    h = await startCliHarness();
    h.login();
  });
  after(() => h.close());

  test('create, get (table, json, yaml), patch, describe (by name) and delete; watch sees it all', async () => {
    const watch = h.spawnEim(['watch', 'hosts', 'regions', '--since', '0']);
    const region = await h.eim(['create', 'region', 'emea', '--label', 'tier=core']);
    assert.equal(region.code, 0, region.stderr);
    const regionId = /\((region-[0-9a-f]{8})\)/.exec(region.stdout)![1];
    assert.match(region.stdout, /^region\/emea created \(region-[0-9a-f]{8}\)$/m);

    const site = await h.eim(['create', 'Site', 'berlin-1', '--set', `spec.regionId=${regionId}`, '--set', 'spec.latitude=52.5', '-o', 'json']);
    assert.equal(site.code, 0, site.stderr);
    const siteObj = JSON.parse(site.stdout);
    assert.equal(siteObj.spec.latitude, 52.5, '--set values are JSON when they parse');
    const host = await h.eim(['create', 'hosts', 'edge-01', '--set', `spec.siteId=${siteObj.id}`, '--set-string', 'spec.serialNumber=0042', '--label', 'line=3']);
    assert.equal(host.code, 0, host.stderr);
    const hostId = /\((host-[0-9a-f]{8})\)/.exec(host.stdout)![1];

    const [table, json, yaml] = await Promise.all([h.eim(['get', 'hosts']), h.eim(['get', 'host', '-o', 'json']), h.eim(['get', 'Host', '-o', 'yaml'])]);
    assert.equal(table.code, 0, table.stderr);
    const [header, row] = table.stdout.trimEnd().split('\n');
    assert.deepEqual(header.split(/\s+/), ['NAME', 'ID', 'DESIRED', 'CURRENT', 'STATUS', 'SITE', 'AGE']);
    assert.match(row, new RegExp(`^edge-01\\s+${hostId}\\s+registered\\s+-\\s+-\\s+berlin-1\\s+\\d+s$`), 'the site by its name');
    const list = JSON.parse(json.stdout);
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].spec.serialNumber, '0042', '--set-string keeps digits a string');
    assert.ok(list.revision >= 3);
    assert.deepEqual(parseYaml(yaml.stdout), list, 'yaml and json show the same list');

    const patched = await h.eim(['patch', 'host', hostId, '--set', 'spec.desiredPowerState=off', '--label', 'line-', '--label', 'rack=7']);
    assert.equal(patched.code, 0, patched.stderr);
    assert.match(patched.stdout, /^host\/edge-01 patched \(revision \d+, generation 2\)$/m);
    const stale = await h.eim(['patch', 'host', hostId, '--set', 'spec.desiredPowerState=on', '--if-match', '1']);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /^error: .+ \(conflict\)$/m);

    const described = await h.eim(['describe', 'host', 'edge-01'], { env: { COLUMNS: '160' } });
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^Labels:\s+rack=7$/m);
    assert.match(described.stdout, /^Generation:\s+2 \(not observed by its manager yet\)$/m);
    assert.match(described.stdout, /^Spec \(desired\)\s+Status \(current\)$/m, 'spec next to status');
    assert.match(described.stdout, /desiredPowerState: off/);
    assert.match(described.stdout, /^\s+CREATED\s+\d+\s+admin \(admin\)\s+\S+\s+created$/m);
    assert.match(described.stdout, /^\s+UPDATED\s+\d+\s+admin \(admin\)\s+\S+\s+labels\.line, labels\.rack, spec\.desiredPowerState$/m);

    const twoPhase = await h.eim(['delete', 'host', 'edge-01']);
    assert.equal(twoPhase.code, 0, twoPhase.stderr);
    assert.match(twoPhase.stdout, /^host\/edge-01 deletion requested/m);
    const forced = await h.eim(['delete', 'host', hostId, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^host\/edge-01 deleted$/m);
    assert.equal((await call(`${h.server.url}/v1/projects/default/hosts/${hostId}`, { token: h.server.token })).status, 404);

    // Region CREATED, host CREATED, UPDATED ×2 (patch, two-phase delete), DELETED: the site is not watched.
    await eventually(() => /DELETED host edge-01/.test(watch.output()), 'the watch to show the deletion');
    await watch.stop();
    const lines = watch.output().trim().split('\n');
    assert.match(lines[0], /^\d+ CREATED region emea \(region-[0-9a-f]{8}\) by admin \(admin\)$/);
    assert.deepEqual(lines.map((l) => l.split(' ').slice(1, 3).join(' ')), ['CREATED region', 'CREATED host', 'UPDATED host', 'UPDATED host', 'DELETED host']);
  });

  test('get --watch prints the list, then each change', async () => {
    const w = h.spawnEim(['get', 'regions', '--watch']);
    await eventually(() => /LISTED\s+emea/.test(w.output()), 'the listed region');
    assert.equal((await h.eim(['create', 'region', 'apac'])).code, 0);
    await eventually(() => /CREATED\s+apac/.test(w.output()), 'the created region');
    await w.stop();
    assert.match(w.output(), /^EVENT\s+NAME\s+ID\s+PARENT\s+AGE$/m);
  });

  test('get hosts --summary [--group-by]: the counts of the server as a table or JSON; bad input exits', async () => {
    const site = JSON.parse((await h.eim(['create', 'site', 'sum-site', '--set', `spec.regionId=${JSON.parse((await h.eim(['create', 'region', 'sum-region', '-o', 'json'])).stdout).id}`, '-o', 'json'])).stdout);
    for (const [name, extra] of [['sum-a', ['--set', `spec.siteId=${site.id}`]], ['sum-b', ['--label', 'ring=canary']]] as const) {
      const r = await h.eim(['create', 'host', name, ...extra]);
      assert.equal(r.code, 0, r.stderr);
    }
    const table = await h.eim(['get', 'hosts', '--summary', '--group-by', 'site']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0].split(/\s{2,}/), ['SITE', 'RUNNING', 'NO CONNECTION', 'ERROR', 'IN PROGRESS', 'MAINTENANCE', 'NOT SEEN YET', 'TOTAL']);
    assert.match(table.stdout, new RegExp(`^sum-site \\(${site.id}\\)\\s+0\\s+0\\s+0\\s+0\\s+0\\s+1\\s+1$`, 'm'));
    assert.match(lines.at(-1)!, /^TOTAL\s+/);
    const json = await h.eim(['get', 'hosts', '--summary', '--filter', 'labels.ring = canary', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).total, 1);
    const bad = await h.eim(['get', 'hosts', '--summary', '--group-by', 'colour']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /groupBy is site, region, label.<key> or inheritedLabel.<key>/);
    const notHosts = await h.eim(['get', 'sites', '--summary']);
    assert.equal(notHosts.code, 2);
  });

  test('usage errors exit 2: unknown kind, command, flag value, --set, missing target', async () => {
    const runs = await Promise.all([
      h.eim(['get', 'nonsense']),
      h.eim(['frobnicate']),
      h.eim(['get', 'hosts', '-o', 'xml']),
      h.eim(['create', 'host', 'x', '--set', 'nonsense']),
      h.eim(['delete', 'hosts']),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 2, `expected exit 2, got ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /error/);
      noStack(r.stderr);
    }
    assert.match(runs[0].stderr, /unknown kind "nonsense": use one of regions, sites, hosts/);
  });

  test('help documents the commands with examples; completion scripts are complete', async () => {
    const [help, getHelp, bash, zsh] = await Promise.all([
      h.eim(['--help']),
      h.eim(['get', '--help']),
      h.eim(['completion', 'bash']),
      h.eim(['completion', 'zsh']),
    ]);
    assert.equal(help.code, 0);
    for (const c of ['login', 'get', 'describe', 'create', 'apply', 'patch', 'delete', 'watch', 'host', 'token', 'project', 'completion', 'server']) {
      assert.match(help.stdout, new RegExp(`^  ${c}\\b`, 'm'), `eim --help lists ${c}`);
    }
    assert.match(getHelp.stdout, /--filter <expr>[\s\S]*Examples:\n {2}eim get hosts/);
    assert.equal(bash.code, 0);
    assert.match(bash.stdout, /complete -F _eim eim/);
    assert.match(bash.stdout, /"eim host power"/);
    assert.match(bash.stdout, /operating-systems/);
    assert.match(zsh.stdout, /^#compdef eim/);
  });
});
