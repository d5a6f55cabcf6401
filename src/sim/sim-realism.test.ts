import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InventoryClient } from '../client/index.ts';
import { call } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FleetSimulator } from './fleet-simulator.ts';
import { SimBmc } from './sim-bmc.ts';
import { SimMemory } from './sim-memory.ts';

// Simulated machines behave like machines (issue 11): a node powered off goes silent and comes
// back when its host asks for power on; a reset reboots it; its hardware reports the OS it was
// given; a node whose auto-registered host was deleted does not come back as a new host when the
// simulator restarts. A real server process with its managers.

const HEARTBEAT_MS = 500;
const POLL = { timeoutMs: 30_000, intervalMs: 100 };

describe('simulated machines', () => {
  let server: ServerProcess;
  let sim: FleetSimulator;
  let bmc: SimBmc;
  let inv: InventoryClient;
  let enrollment = '';
  const tmp = tempDir();
  const memoryFile = join(tmp.dir, 'sim', 'fleet.json');
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${server.url}/v1/projects/default${path}`, { token: server.token, ...o });
  const host = async (i: number) => (await api(`/hosts?filter=${encodeURIComponent(`name = "${sim.identities()[i].hostname}"`)}`)).json.items[0];
  const simOf = (memory: SimMemory) =>
    new FleetSimulator({ server: server.url, enrollmentToken: enrollment, nodes: 3, prefix: 'real', heartbeatMs: HEARTBEAT_MS, provisionTimeMs: 200, rescanMs: 300, silentWhenOff: true, rebootMs: 1000, memory });

  before(async () => {
    server = await spawnServer(['--data-dir', join(tmp.dir, 'data')]);
    const os = await api('/operating-systems', {
      method: 'POST',
      body: { name: 'edgeos-7-1', labels: { default: 'true' }, spec: { imageUrl: 'https://images.example/e.img', sha256: 'a'.repeat(64), profileName: 'edgeos', profileVersion: '7.1', osType: 'immutable', architecture: 'x86_64' } },
    });
    assert.equal(os.status, 201, os.body);
    enrollment = (await api('/tokens', { method: 'POST', body: { role: 'enrollment', autoRegister: true } })).json.token;
    sim = simOf(new SimMemory(memoryFile, `${server.url} default`));
    inv = new InventoryClient({ server: server.url, token: server.token });
    bmc = new SimBmc(inv, 'default', sim);
    void bmc.run();
    await sim.start();
    await until(async () => (await api('/hosts')).json.items.filter((h: any) => h.status.hostStatus?.message === 'running').length === 3, 'three hosts running', POLL);
  });
  after(async () => {
    bmc?.stop();
    await sim?.stop();
    inv?.close();
    await server?.kill();
    tmp.remove();
  });

  test('the hardware reports the OS its instance installed', async () => {
    const h = await host(0);
    assert.equal((await api(`/hosts/${h.id}`, { method: 'PATCH', body: { spec: { autoProvision: true } } })).status, 200);
    const reported = await until(async () => {
      const hw = (await api(`/hosts/${h.id}`)).json.status.hardware;
      return hw?.osName === 'edgeos' && hw;
    }, 'the installed OS in the hardware report', POLL);
    assert.equal(reported.osVersion, '7.1');
    assert.deepEqual(sim.osOf(0), { name: 'edgeos', version: '7.1' });
  });

  test('a node powered off goes silent; power on through its host switches it on again', async () => {
    const h = await host(1);
    assert.equal((await api(`/hosts/${h.id}`, { method: 'PATCH', body: { spec: { desiredPowerState: 'off' } } })).status, 200);
    await until(async () => sim.isOff(1), 'the node off', POLL);
    const beats = sim.agentStats(1).heartbeats;
    await until(async () => (await api(`/hosts/${h.id}`)).json.status.hostStatus?.message === 'no connection', 'no connection', POLL);
    const off = (await api(`/hosts/${h.id}`)).json;
    assert.equal(off.status.currentPowerState, 'off');
    assert.equal(sim.agentStats(1).heartbeats, beats, 'no heartbeat while off');
    assert.equal(sim.stats().off, 1);
    assert.equal((await api(`/hosts/${h.id}`, { method: 'PATCH', body: { spec: { desiredPowerState: 'on' } } })).status, 200);
    await until(async () => {
      const s = (await api(`/hosts/${h.id}`)).json.status;
      return s.hostStatus?.message === 'running' && s.currentPowerState === 'on' && s.powerStatus?.indicator === 'idle';
    }, 'running and on again', POLL);
    assert.equal(bmc.poweredOn, 1);
    assert.equal(sim.boots(1), 2, 'it booted again');
    assert.ok(sim.agentStats(1).heartbeats > 0, 'heartbeats again');
  });

  test('a reset reboots the node: silent for a moment, then back with the same identity', async () => {
    const h = await host(2);
    assert.equal(sim.boots(2), 1);
    assert.equal((await api(`/hosts/${h.id}`, { method: 'PATCH', body: { spec: { desiredPowerState: 'reset' } } })).status, 200);
    await until(async () => (await api(`/hosts/${h.id}`)).json.status.powerStatus?.message === 'reset done; power on', 'the reset done', POLL);
    await until(async () => sim.boots(2) === 2 && sim.stats().off === 0 && sim.agentStats(2).heartbeats > 0, 'booted again', POLL);
    assert.equal(sim.hostId(2), h.id, 'the same host: a reboot does not enrol again');
    assert.equal((await api('/hosts')).json.items.length, 3);
  });

  test('a deleted auto-registered host stays deleted when the simulator restarts', async () => {
    const h = await host(0);
    assert.equal((await api(`/hosts/${h.id}?force=true`, { method: 'DELETE' })).status, 200);
    await until(async () => sim.stats().exits.revoked === 1, 'the node revoked', POLL);
    await sim.stop();
    bmc.stop();
    const again = simOf(new SimMemory(memoryFile, `${server.url} default`));
    sim = again;
    assert.deepEqual(again.revokedEarlier().map((r) => r.hostname), ['real-00000']);
    await again.start();
    await until(async () => again.stats().enrolled === 2, 'the others enrolled again', POLL);
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS));
    const names = (await api('/hosts')).json.items.map((x: any) => x.name).sort();
    assert.deepEqual(names, ['real-00001', 'real-00002'], 'no new host for the deleted one');
    assert.equal(again.stats().keptOff, 1);
    // With the memory forgotten it comes back as a new machine.
    const fresh = new SimMemory(memoryFile, `${server.url} default`);
    assert.equal(fresh.forgetRevoked(), 1);
  });
});
