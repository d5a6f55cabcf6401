import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { testEd25519Key } from '../testing/ssh-keys.ts';
import { until } from '../testing/until.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// `eim get local-accounts -o wide` and `eim describe host` against a real server: the manager
// computes the hosts' node configuration; two agents report on it over the southbound route.

describe('eim and node configuration', () => {
  let h: CliHarness;
  const api = (path: string, o: { method?: string; body?: unknown; token?: string } = {}) => call(`${h.server.url}${path}`, { token: h.server.token, ...o });
  const P = '/v1/projects/default';
  const agents: string[] = [];
  const hostIds: string[] = [];
  let accountId = '';

  before(async () => {
    h = await startCliHarness({ managers: true });
    h.login();
    const region = (await api(`${P}/regions`, { method: 'POST', body: { name: 'europe', spec: {} } })).json;
    const site = (await api(`${P}/sites`, { method: 'POST', body: { name: 'paris', spec: { regionId: region.id } } })).json;
    for (const name of ['edge-01', 'edge-02', 'edge-03']) {
      const host = (await api(`${P}/hosts`, { method: 'POST', body: { name, spec: { serialNumber: `SN-${name}`, desiredState: 'onboarded', ...(name === 'edge-03' ? {} : { siteId: site.id }) } } })).json;
      hostIds.push(host.id);
      const et = (await api(`${P}/tokens`, { method: 'POST', body: { role: 'enrollment' } })).json.token;
      agents.push((await api('/southbound/v1/enroll', { method: 'POST', token: et, body: { serialNumber: `SN-${name}`, hostname: name } })).json.token);
    }
    const r = await api(`${P}/local-accounts`, { method: 'POST', body: { name: 'ops', spec: { username: 'ops', sshKeys: [testEd25519Key('a'), testEd25519Key('b')], sudo: 'nopasswd', target: { regionId: region.id } } } });
    assert.equal(r.status, 201, r.body);
    accountId = r.json.id;
    const nc = async (id: string) => (await api(`${P}/hosts/${id}`)).json.status.nodeConfig;
    await until(async () => (await nc(hostIds[0])) && (await nc(hostIds[1])), 'the manager wrote both hosts\' node config');
    const version = (await nc(hostIds[0])).version;
    const ok = await api('/southbound/v1/node-config', { method: 'POST', token: agents[0], body: { version, items: [{ item: 'account:ops', state: 'applied', message: 'account ops: 2 keys' }] } });
    assert.equal(ok.status, 204, ok.body);
    const bad = await api('/southbound/v1/node-config', { method: 'POST', token: agents[1], body: { version, items: [{ item: 'account:ops', state: 'failed', recoverable: false, message: 'ops is a system account on this node (uid 999)' }] } });
    assert.equal(bad.status, 204, bad.body);
    // An agent of a host without node config has nothing to report on.
    const none = await api('/southbound/v1/node-config', { method: 'POST', token: agents[2], body: { version, items: [] } });
    assert.equal(none.status, 409, none.body);
  });
  after(() => h?.close());

  test('eim get local-accounts -o wide shows how many hosts each reached, applied and failed', async () => {
    const r = await h.eim(['get', 'local-accounts', '-o', 'wide']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /REACHED/);
    assert.match(r.stdout, /^ops\s+localaccount-[0-9a-f]{8}\s+ops\s+region europe.*2 hosts, 1 applied, 1 failed/m);
    const narrow = await h.eim(['get', 'local-accounts']);
    assert.doesNotMatch(narrow.stdout, /REACHED/);
  });

  test('eim describe host shows the effective accounts, their source, what the agent did and its errors', async () => {
    const ok = await h.eim(['describe', 'host', 'edge-01']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Node configuration:\s+version [0-9a-f]{16} \(applied by the agent/m);
    assert.match(ok.stdout, /account\s+ops\s+2 keys, sudo nopasswd\s+applied\s+region europe: ops/);
    assert.doesNotMatch(ok.stdout, /sshKeys/, 'the section stands for status.nodeConfig (no raw tree of it)');
    const bad = await h.eim(['describe', 'host', 'edge-02']);
    assert.match(bad.stdout, /account\s+ops\s+2 keys, sudo nopasswd\s+failed/);
    assert.match(bad.stdout, /account:ops failed: ops is a system account on this node \(uid 999\)/);
    assert.equal(bad.stdout.match(/is a system account/g)?.length, 1, `the failure is said once:\n${bad.stdout}`);
    assert.match(bad.stdout, /^\s*1 item failed \(below\)$/m);
    assert.ok(accountId);
  });
});
