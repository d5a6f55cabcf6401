import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FleetSimulator } from './fleet-simulator.ts';

// End to end (issue 5): a real server process (the telemetry manager in it), real HTTP, and a
// simulated fleet (the real agent code, simulated executors). Nodes 0–7 sit in a site of a region
// nested in `europe`; nodes 8–11 in a site of `americas`.

const NODES = 12;
const INSIDE = 8;

/** Each poll asks the server over HTTP. */
const POLL = { timeoutMs: 20_000, intervalMs: 50 };

describe('telemetry end to end', () => {
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
  const configEvents = () => Array.from({ length: NODES }, (_, i) => sim.agentStats(i).configEvents);
  let profileId = '';

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    base = `${server.url}/v1/projects/default`;
    const europe = await create('/regions', { name: 'europe', spec: {} });
    const west = await create('/regions', { name: 'europe-west', spec: { parentRegionId: europe.id } });
    const americas = await create('/regions', { name: 'americas', spec: {} });
    const paris = await create('/sites', { name: 'paris', spec: { regionId: west.id } });
    const austin = await create('/sites', { name: 'austin', spec: { regionId: americas.id } });
    const enrollment = (await api('/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token;
    sim = new FleetSimulator({ server: server.url, enrollmentToken: enrollment, nodes: NODES, seed: 'tel', heartbeatMs: 1000, provisionTimeMs: 200 });
    for (const n of sim.identities()) {
      await create('/hosts', { name: n.hostname, spec: { serialNumber: n.serialNumber, desiredState: 'onboarded', siteId: n.index < INSIDE ? paris.id : austin.id } });
    }
    await sim.start();
    await until(async () => {
      const hs = await hosts();
      return hs.length === NODES && hs.every((h) => h.status.currentState === 'onboarded' && h.status.hostStatus?.message === 'running') && sim.stats().streamConnections >= NODES;
    }, 'every host onboarded and streaming', POLL);
    const cpu = await create('/telemetry-groups', { name: 'cpu', spec: { type: 'metrics', collector: 'host', groups: ['cpu', 'memory'] } });
    profileId = (await create('/telemetry-profiles', { name: 'europe-cpu', spec: { target: { regionId: europe.id }, groupId: cpu.id, metricsIntervalSeconds: 60 } })).id;
  });
  after(async () => {
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  /** Waits until the hosts under the region applied one version; returns it. */
  const appliedEverywhere = async (interval: number) =>
    until(async () => {
      const hs = await hosts();
      const inside = hs.slice(0, INSIDE);
      const v = inside[0].status.telemetry?.version;
      // Until the manager has written a config there is no version to agree on.
      const ok = v !== undefined && inside.every((h) => h.status.telemetry?.version === v && h.status.telemetry.appliedVersion === v && h.status.telemetry.config.metrics[0]?.intervalSeconds === interval);
      return ok && { version: v as string, hosts: hs };
    }, `every host under europe applied the ${interval} s config`, POLL);

  test('a region-level profile reaches exactly the hosts under it, each once, and each reports the applied version', async () => {
    const { version, hosts: hs } = await appliedEverywhere(60);
    assert.match(version, /^[0-9a-f]{16}$/);
    for (const h of hs.slice(INSIDE)) assert.equal(h.status.telemetry, undefined, `${h.name} is outside the region`);
    assert.ok(hs.slice(0, INSIDE).every((h) => Date.parse(h.status.telemetry.appliedAt) > 0));
    // Heartbeats keep writing host status meanwhile; none of it may resend the config.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(configEvents(), [...Array(INSIDE).fill(1), ...Array(NODES - INSIDE).fill(0)]);
    assert.equal(sim.stats().configsApplied, INSIDE);
  });

  test('changing the region-level profile pushes the new version once more to those hosts only', async () => {
    const r = await api(`/telemetry-profiles/${profileId}`, { method: 'PATCH', body: { spec: { metricsIntervalSeconds: 15 } } });
    assert.equal(r.status, 200, r.body);
    const { version, hosts: hs } = await appliedEverywhere(15);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(configEvents(), [...Array(INSIDE).fill(2), ...Array(NODES - INSIDE).fill(0)]);
    assert.ok(hs.slice(INSIDE).every((h) => h.status.telemetry === undefined));
    const one = (await api(`/hosts/${hs[0].id}`)).json.status.telemetry;
    assert.equal(one.appliedVersion, version);
    assert.deepEqual(one.sources.map((s: any) => [s.level, s.profileId]), [['region', profileId]]);
  });
});
