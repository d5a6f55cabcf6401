import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FleetSimulator } from './fleet-simulator.ts';

// Issue 15 end to end: a real server process (the telemetry manager in it) and a simulated fleet
// (the real agent code) pushing seeded series over OTLP. Nodes 0–3 sit under `europe`, nodes 4–5
// under `americas`, each region with a profile of its own. A profile's interval sets the cadence of
// samples for exactly the hosts under it (the others keep theirs), removing it stops their
// collection only, and an agent that lost the server delivers its buffer in order.

const NODES = 6;
const INSIDE = 4;
const POLL = { timeoutMs: 30_000, intervalMs: 100 };

describe('telemetry flows end to end', () => {
  let server: ServerProcess;
  let sim: FleetSimulator;
  let base = '';
  let hostIds: string[] = [];
  const tmp = tempDir();
  let port = 0;
  const api = async (path: string, o: { method?: string; body?: unknown } = {}) => call(`${base}${path}`, { token: server.token, ...o });
  const create = async (path: string, body: unknown) => {
    const r = await api(path, { method: 'POST', body });
    assert.equal(r.status, 201, r.body);
    return r.json;
  };
  /** Sample times of a host's cpu_used_percent in the last `seconds`, from the server. */
  const sampleTimes = async (i: number, seconds: number): Promise<number[]> => {
    const r = await api(`/hosts/${hostIds[i]}/metrics?names=cpu_used_percent&from=${seconds}s&step=1`);
    assert.equal(r.status, 200, r.body);
    return (r.json.series[0]?.points ?? []).map((p: { t: string }) => Date.parse(p.t));
  };
  let profileId = '';

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    port = Number(new URL(server.url).port);
    base = `${server.url}/v1/projects/default`;
    const europe = await create('/regions', { name: 'europe', spec: {} });
    const americas = await create('/regions', { name: 'americas', spec: {} });
    const paris = await create('/sites', { name: 'paris', spec: { regionId: europe.id } });
    const austin = await create('/sites', { name: 'austin', spec: { regionId: americas.id } });
    const enrollment = (await api('/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token;
    sim = new FleetSimulator({ server: server.url, enrollmentToken: enrollment, nodes: NODES, seed: 'flow', heartbeatMs: 500, logPollMs: 500 });
    for (const n of sim.identities()) {
      const h = await create('/hosts', { name: n.hostname, spec: { serialNumber: n.serialNumber, desiredState: 'onboarded', siteId: n.index < INSIDE ? paris.id : austin.id } });
      hostIds.push(h.id);
    }
    await sim.start();
    await until(async () => sim.stats().streamConnections >= NODES, 'every node streaming', POLL);
    const group = await create('/telemetry-groups', { name: 'node', spec: { type: 'metrics', collector: 'host', groups: ['cpu', 'memory', 'disk', 'net'] } });
    const logs = await create('/telemetry-groups', { name: 'node-logs', spec: { type: 'logs', collector: 'host', groups: ['syslog'] } });
    profileId = (await create('/telemetry-profiles', { name: 'europe', spec: { target: { regionId: europe.id }, groupId: group.id, metricsIntervalSeconds: 1 } })).id;
    await create('/telemetry-profiles', { name: 'europe-logs', spec: { target: { regionId: europe.id }, groupId: logs.id, logLevel: 'warn' } });
    await create('/telemetry-profiles', { name: 'americas', spec: { target: { regionId: americas.id }, groupId: group.id, metricsIntervalSeconds: 2 } });
  });
  after(async () => {
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test('every second under europe, every 2 s under americas; then every 3 s under europe only, after its profile changes', async () => {
    await until(async () => (await sampleTimes(INSIDE - 1, 5)).length >= 3 && (await sampleTimes(NODES - 1, 5)).length >= 2, 'samples every second and every 2 s', POLL);
    await new Promise((r) => setTimeout(r, 3000));
    for (let i = 0; i < NODES; i++) {
      const n = (await sampleTimes(i, 6)).length;
      if (i < INSIDE) assert.ok(n >= 4 && n <= 7, `node ${i}: ${n} samples in 6 s at 1 s`);
      else assert.ok(n >= 2 && n <= 4, `node ${i} (americas): ${n} samples in 6 s at 2 s`);
    }
    const host = (await api(`/hosts/${hostIds[0]}`)).json;
    assert.ok(Date.parse(host.status.telemetry.lastSampleAt) > Date.now() - 30_000, 'lastSampleAt');
    assert.equal(host.status.telemetry.collectionStatus?.indicator, 'idle', JSON.stringify(host.status.telemetry.collectionStatus));
    const top = (await api('/hosts:top?sort=disk&limit=10')).json;
    assert.deepEqual(top.items.map((h: { hostId: string }) => h.hostId).sort(), [...hostIds].sort());

    assert.equal((await api(`/telemetry-profiles/${profileId}`, { method: 'PATCH', body: { spec: { metricsIntervalSeconds: 3 } } })).status, 200);
    await new Promise((r) => setTimeout(r, 2000)); // the new config reaches the agents
    const start = Date.now();
    await new Promise((r) => setTimeout(r, 9000));
    for (let i = 0; i < NODES; i++) {
      const times = (await sampleTimes(i, 9)).filter((t) => t >= start);
      if (i < INSIDE) assert.ok(times.length >= 2 && times.length <= 4, `node ${i}: ${times.length} samples in 9 s at 3 s`);
      else assert.ok(times.length >= 4 && times.length <= 6, `node ${i} (americas, unchanged): ${times.length} samples in 9 s at 2 s`);
    }
    const logs = (await api(`/hosts/${hostIds[0]}/logs?limit=50`)).json.items as { level: string }[];
    assert.ok(logs.every((l) => l.level === 'warn' || l.level === 'error'), 'only warn and above at logLevel warn');
  });

  test('an agent that lost the server keeps collecting into its buffer and delivers it in order when the server is back', async () => {
    await server.kill();
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 7000));
    assert.ok((sim.telemetryStats(0)?.buffered ?? 0) >= 2, 'batches wait in the buffer');
    server = await spawnServer(['--data-dir', tmp.dir, '--port', String(port)]);
    await until(async () => (sim.telemetryStats(0)?.buffered ?? 1) === 0, 'the buffer delivered', POLL);
    const times = (await sampleTimes(0, 30)).filter((t) => t >= down - 3000);
    assert.ok(times.length >= 4, `${times.length} samples around the outage`);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps.every((g) => g > 0 && g <= 3500), `no sample lost while the server was away: gaps ${gaps}`);
  });

  test("removing the profile stops its hosts' collection, not the others'", async () => {
    assert.equal((await api(`/telemetry-profiles/${profileId}`, { method: 'DELETE' })).status, 200);
    await until(async () => (await api(`/hosts/${hostIds[0]}`)).json.status.telemetry?.config?.metrics?.length === 0, 'the metrics group left the config', POLL);
    await new Promise((r) => setTimeout(r, 1500));
    const before = sim.telemetryStats(0)!.collections;
    const elsewhere = sim.telemetryStats(NODES - 1)!.collections;
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(sim.telemetryStats(0)!.collections, before, 'no more collections');
    assert.ok(sim.telemetryStats(NODES - 1)!.collections > elsewhere, 'a host under americas goes on collecting');
  });
});
