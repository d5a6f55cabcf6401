import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { testEd25519Key } from '../testing/ssh-keys.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FleetSimulator } from './fleet-simulator.ts';

// End to end (issue 14): a real server process (the node-config manager in it), real HTTP, and a
// simulated fleet (the real agent code, simulated executors). Nodes 0–5 stand in site `paris`
// (region europe); nodes 6–7 in `austin` (americas). Node 7's account item fails recoverably on its
// first two attempts.

const NODES = 8;
const INSIDE = 6;
const POLL = { timeoutMs: 60_000, intervalMs: 50 }; // generous: the suite shares 2 cores with other work

describe('node configuration end to end', () => {
  let server: ServerProcess;
  let sim: FleetSimulator;
  let base = '';
  const tmp = tempDir();
  const api = async (path: string, o: { method?: string; body?: unknown } = {}) => call(`${base}${path}`, { token: server.token, ...o });
  const create = async (path: string, body: unknown) => {
    const r = await api(path, { method: 'POST', body });
    assert.equal(r.status, 201, r.body);
    return r.json;
  };
  const hosts = async () => {
    const r = await api('/hosts?pageSize=100&orderBy=name');
    assert.equal(r.status, 200, r.body);
    return r.json.items as any[];
  };
  let paris: any;
  let austin: any;
  let account: any;
  const k1 = testEd25519Key('ops@old');
  const k2 = testEd25519Key('ops@new');

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    base = `${server.url}/v1/projects/default`;
    const europe = await create('/regions', { name: 'europe', spec: {} });
    const americas = await create('/regions', { name: 'americas', spec: {} });
    paris = await create('/sites', { name: 'paris', spec: { regionId: europe.id } });
    austin = await create('/sites', { name: 'austin', spec: { regionId: americas.id } });
    const enrollment = (await api('/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token;
    sim = new FleetSimulator({
      server: server.url, enrollmentToken: enrollment, nodes: NODES, seed: 'nc', heartbeatMs: 1000, provisionTimeMs: 200,
      executorFor: (i) => (i === 7 ? { nodeConfigFail: (item, attempt) => (item === 'account:ops' && attempt <= 2 ? 'recoverable' : undefined) } : {}),
    });
    for (const n of sim.identities()) {
      await create('/hosts', { name: n.hostname, spec: { serialNumber: n.serialNumber, desiredState: 'onboarded', siteId: n.index < INSIDE ? paris.id : austin.id } });
    }
    await sim.start();
    await until(async () => (await hosts()).every((h) => h.status.currentState === 'onboarded') && sim.stats().streamConnections >= NODES, 'every host onboarded and streaming', POLL);
  });
  after(async () => {
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  /** Waits until the hosts whose indexes are given report the version they hold as applied; returns the hosts. */
  const applied = (indexes: number[], ok: (nc: any) => boolean, what: string) =>
    until(async () => {
      const hs = await hosts();
      const sel = indexes.map((i) => hs[i]);
      return sel.every((h) => h.status.nodeConfig && h.status.nodeConfig.appliedVersion === h.status.nodeConfig.version && ok(h.status.nodeConfig)) && hs;
    }, what, POLL);

  test('a site-level account reaches every host under the site, each applies it and reports the version; a key rotation does it again', async () => {
    account = await create('/local-accounts', { name: 'ops', spec: { username: 'ops', sshKeys: [k1], sudo: 'nopasswd', groups: ['adm2'], target: { siteId: paris.id } } });
    let hs = await applied([0, 1, 2, 3, 4, 5], (nc) => nc.applyStatus.indicator === 'idle', 'the account applied under paris');
    for (const h of hs.slice(INSIDE)) assert.equal(h.status.nodeConfig, undefined, `${h.name} is in austin`);
    const v1 = hs[0].status.nodeConfig.version;
    assert.ok(hs.slice(0, INSIDE).every((h) => h.status.nodeConfig.version === v1));
    assert.deepEqual(hs[0].status.nodeConfig.items, [{ item: 'account:ops', state: 'applied', message: 'account ops: 1 key, sudo nopasswd, groups adm2' }]);
    assert.match(hs[0].status.nodeConfig.applyStatus.message, /^applied version [0-9a-f]{16} \(1 account, 0 configs\)$/);
    for (let i = 0; i < INSIDE; i++) assert.deepEqual(sim.nodeConfigOf(i)!.accounts.get('ops')?.sshKeys, [k1]);

    // The rotation: one PATCH, every host under the site ends on the new version with the new key only.
    const r = await api(`/local-accounts/${account.id}`, { method: 'PATCH', body: { spec: { sshKeys: [k2] } } });
    assert.equal(r.status, 200, r.body);
    hs = await applied([0, 1, 2, 3, 4, 5], (nc) => nc.version !== v1, 'the rotation applied under paris');
    const v2 = hs[0].status.nodeConfig.version;
    assert.ok(hs.slice(0, INSIDE).every((h) => h.status.nodeConfig.appliedVersion === v2 && Date.parse(h.status.nodeConfig.appliedAt) > 0));
    for (let i = 0; i < INSIDE; i++) assert.deepEqual(sim.nodeConfigOf(i)!.accounts.get('ops')?.sshKeys, [k2]);
    for (let i = INSIDE; i < NODES; i++) assert.equal(sim.nodeConfigOf(i)!.accounts.size, 0);
  });

  test('a failing item shows as an error on the host naming it, and recovers when fixed; a recoverable one is retried by the agent', async () => {
    // postgres is a system account (uid 114) on the simulated nodes: an unrecoverable item error.
    const pg = await create('/local-accounts', { name: 'pg', spec: { username: 'postgres', sshKeys: [k1], target: { siteId: austin.id } } });
    let hs = await applied([6], (nc) => nc.applyStatus.indicator === 'error', 'the postgres item failed on node 6');
    const nc6 = hs[6].status.nodeConfig;
    assert.match(nc6.applyStatus.message, /^account:postgres failed: postgres is a system account on this node \(uid 114\).*not retried until the spec changes/);
    assert.deepEqual(nc6.items.map((i: any) => [i.item, i.state, i.recoverable]), [['account:postgres', 'failed', false]]);
    // Fixed: another username; the old one was never made, so nothing is removed.
    const r = await api(`/local-accounts/${pg.id}`, { method: 'PATCH', body: { spec: { username: 'pgops' } } });
    assert.equal(r.status, 200, r.body);
    hs = await applied([6, 7], (nc) => nc.applyStatus.indicator === 'idle' && nc.accounts[0].username === 'pgops', 'pgops applied in austin');
    assert.ok(sim.nodeConfigOf(6)!.accounts.has('pgops'));

    // Node 7's ops item fails twice (recoverable), then the agent's retry succeeds.
    await create('/local-accounts', { name: 'ops-austin', spec: { username: 'ops', sshKeys: [k2], target: { siteId: austin.id } } });
    hs = await applied([6, 7], (nc) => nc.accounts.length === 2 && nc.applyStatus.indicator === 'idle', 'ops applied in austin after retries');
    assert.ok(sim.agentStats(7).nodeConfigsApplied >= sim.agentStats(6).nodeConfigsApplied + 2, 'node 7 applied its version again after each failure');
    assert.deepEqual(sim.nodeConfigOf(7)!.accounts.get('ops')?.sshKeys, [k2]);
  });

  test('state absent removes the account from the nodes it reached; an agent may not report on another host', async () => {
    const r = await api(`/local-accounts/${account.id}`, { method: 'PATCH', body: { spec: { state: 'absent' } } });
    assert.equal(r.status, 200, r.body);
    await applied([0, 1, 2, 3, 4, 5], (nc) => nc.accounts[0].state === 'absent', 'absent applied under paris');
    for (let i = 0; i < INSIDE; i++) assert.equal(sim.nodeConfigOf(i)!.accounts.has('ops'), false);
    const hs = await hosts();
    assert.equal(hs[0].status.nodeConfig.items[0].state, 'removed');
    // A bad report is refused, not stored.
    const token = (await api('/tokens', { method: 'POST', body: { role: 'agent', hostId: hs[0].id } })).json.token;
    const bad = await call(`${server.url}/southbound/v1/node-config`, { method: 'POST', token, body: { version: 'x', items: [{ item: 'a', state: 'exploded' }] } });
    assert.equal(bad.status, 400, bad.body);
    const huge = await call(`${server.url}/southbound/v1/node-config`, { method: 'POST', token, body: { version: 'x', items: Array.from({ length: 200 }, () => ({ item: 'a', state: 'applied' })) } });
    assert.equal(huge.status, 400, huge.body);
    // The agent token of host 0 writes host 0 only (there is no host field to reach further with).
    const ok = await call(`${server.url}/southbound/v1/node-config`, { method: 'POST', token, body: { version: 'forged', items: [] } });
    assert.equal(ok.status, 204, ok.body);
    const after = await hosts();
    assert.equal(after[0].status.nodeConfig.appliedVersion, 'forged');
    assert.equal(after[1].status.nodeConfig.appliedVersion, after[1].status.nodeConfig.version, 'host 1 is untouched');
    // An editor token cannot use the southbound route at all.
    const editor = (await api('/tokens', { method: 'POST', body: { role: 'editor' } })).json.token;
    const refused = await call(`${server.url}/southbound/v1/node-config`, { method: 'POST', token: editor, body: { version: 'x', items: [] } });
    assert.ok(refused.status === 401 || refused.status === 403, `${refused.status}`);
  });
});
