import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../testing/server-cluster.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// The real `eim` binary against a real server: login and the config, where server, token and
// project come from, projects and tokens (the README's first steps).

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace leaked:\n${stderr}`);

describe('eim CLI: login, projects and tokens', () => {
  let h: CliHarness;
  before(async () => {
    h = await startCliHarness();
  });
  after(() => h.close());

  test('login checks the token first, then saves server, token and project with mode 0600', async () => {
    const bad = await h.eim(['login', '--server', h.server.url, '--token', 'not-a-token']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .+ \(unauthenticated\)$/m);
    noStack(bad.stderr);
    assert.equal(existsSync(h.configPath), false, 'a refused login must not write the config');

    const ok = await h.eim(['login', '--server', h.server.url, '--token', h.server.token]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(readFileSync(h.configPath, 'utf8')), { server: h.server.url, token: h.server.token, project: 'default' });
    assert.equal(statSync(h.configPath).mode & 0o777, 0o600);
  });

  test('a new project and a viewer token that cannot write; revoking it locks it out', async () => {
    const made = await h.eim(['project', 'create', 'acme']);
    assert.equal(made.code, 0, made.stderr);
    const token = await h.eim(['token', 'create', '--project', 'acme', '--role', 'viewer', '--ttl', '1h']);
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'stdout holds the token alone');
    const tokenId = /^token (\S+): viewer in project acme/m.exec(token.stderr)![1];
    const viewer = token.stdout.trim();
    const [write, read, projects] = await Promise.all([
      h.eim(['create', 'region', 'r1', '--project', 'acme', '--token', viewer]),
      h.eim(['get', 'regions', '-o', 'json'], { env: { EIM_PROJECT: 'acme', EIM_TOKEN: viewer } }),
      h.eim(['project', 'list', '-o', 'json']),
    ]);
    assert.equal(write.code, 1);
    assert.match(write.stderr, /^error: .+ \(permission_denied\)$/m);
    assert.deepEqual(JSON.parse(read.stdout).items, []);
    assert.deepEqual(JSON.parse(projects.stdout).items.map((p: { name: string }) => p.name).sort(), ['acme', 'default']);
    assert.equal((await h.eim(['token', 'revoke', tokenId, '--project', 'acme'])).code, 0);
    const revoked = await h.eim(['get', 'regions', '--project', 'acme', '--token', viewer]);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, /^error: .+ \(unauthenticated\)$/m);
  });

  test('an agent token made by hand expires too, and says when (it printed "expires undefined")', async () => {
    const host = await h.eim(['create', 'host', 'edge-by-hand', '-o', 'json']);
    assert.equal(host.code, 0, host.stderr);
    const made = await h.eim(['token', 'create', '--role', 'agent', '--host-id', JSON.parse(host.stdout).id]);
    assert.equal(made.code, 0, made.stderr);
    const expires = /^token \S+: agent in project default, expires (\S+)$/m.exec(made.stderr);
    assert.ok(expires, made.stderr);
    const days = (Date.parse(expires[1]) - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, `the default lifetime of 30 days (${days})`);
  });

  test('flags and EIM_* variables override the config; a bad token is the server\'s error', async () => {
    const [other, badToken, noConfig] = await Promise.all([
      h.eim(['get', 'hosts', '-o', 'json'], { env: { EIM_PROJECT: 'nowhere' } }),
      h.eim(['get', 'hosts', '--token', 'garbage']),
      h.eim(['get', 'hosts'], { env: { EIM_CONFIG: `${h.configPath}.absent` } }),
    ]);
    assert.equal(other.code, 1, 'EIM_PROJECT names a project the store does not have');
    assert.match(other.stderr, /^error: .+ \((not_found|permission_denied)\)$/m);
    assert.equal(badToken.code, 1);
    assert.match(badToken.stderr, /^error: .+ \(unauthenticated\)$/m);
    noStack(badToken.stderr);
    assert.equal(noConfig.code, 2, 'no server configured is a usage error');
    assert.match(noConfig.stderr, /^error: no server: run `eim login/m);
  });


  test('login with several servers saves them all; a command goes to the next when one is down', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const ok = await h.eim(['login', '--server', `${dead},${h.server.url}`, '--token', h.server.token]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^logged in to ${h.server.url.replace(/[.:/]/g, '\\$&')} \\(one of 2 servers, all saved\\)`, 'm'));
    assert.equal(JSON.parse(readFileSync(h.configPath, 'utf8')).server, `${dead},${h.server.url}`);
    const got = await h.eim(['project', 'list']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /default/);
    assert.equal((await h.eim(['login', '--server', h.server.url, '--token', h.server.token])).code, 0);
  });
});
