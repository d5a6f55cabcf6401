import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FleetSimulator } from '../sim/fleet-simulator.ts';
import { call } from '../testing/http-client.ts';
import { until } from '../testing/until.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// `eim update` against a real server running its managers, with a small simulated fleet.

/** Each poll asks the server over HTTP. */
const POLL = { timeoutMs: 30_000, intervalMs: 100 };

describe('eim CLI: update start, status, abort', () => {
  let h: CliHarness;
  let sim: FleetSimulator;
  const ids: Record<string, string> = {};
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${h.server.url}/v1/projects/default${path}`, { token: h.server.token, ...o });
  const create = async (path: string, body: unknown) => {
    const r = await api(path, { method: 'POST', body });
    assert.equal(r.status, 201, r.body);
    return r.json.id as string;
  };

  before(async () => {
    h = await startCliHarness({ managers: true });
    h.login();
    ids.os = await create('/operating-systems', { name: 'ubuntu-22-04', labels: { default: 'true' }, spec: { imageUrl: 'https://images.example/u.img', sha256: 'a'.repeat(64), profileName: 'ubuntu', profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64' } });
    ids.eu = await create('/regions', { name: 'eu', spec: {} });
    ids.dach = await create('/regions', { name: 'dach', spec: { parentRegionId: ids.eu } });
    ids.berlin = await create('/sites', { name: 'berlin-1', spec: { regionId: ids.dach } });
    ids.policy = await create('/os-update-policies', { name: 'pkgs', spec: { policy: 'latest', packages: ['openssl'], rollout: { maxConcurrent: 2, maxFailures: 1 } } });
    const enrollment = await api('/tokens', { method: 'POST', body: { role: 'enrollment' } });
    sim = new FleetSimulator({ server: h.server.url, enrollmentToken: enrollment.json.token, nodes: 4, seed: 'cliupd', heartbeatMs: 1000, provisionTimeMs: 200, rescanMs: 60_000 });
    for (const n of sim.identities()) {
      await create('/hosts', { name: n.hostname, spec: { uuid: n.uuid, desiredState: 'onboarded', autoProvision: true, ...(n.index < 3 ? { siteId: ids.berlin } : {}) } });
    }
    await sim.start();
    await until(async () => (await api('/instances?filter=status.currentState%20%3D%20%22running%22')).json.items.length === 4, 'instances running', POLL);
  });
  after(async () => {
    await sim?.stop();
    await h?.close();
  });

  test('start --dry-run shows the change and each host window; a bulk change needs --yes; status --watch follows the rollout to done; abort detaches', async () => {
    const dry = await h.eim(['update', 'start', '--policy', 'pkgs', '--region', 'eu', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    const lines = dry.stdout.trim().split('\n');
    assert.equal(lines.length, 4, dry.stdout);
    for (const l of lines.slice(0, 3)) assert.match(l, /^instance\/\S+ \(inst-[0-9a-f]{8}\): osUpdatePolicyId \(none\) → osupdatepolicy-[0-9a-f]{8} \(pkgs\); host cliupd-0000[0-2]: no window covers it$/);
    assert.equal(lines[3], '3 would change, 0 unchanged (dry run: nothing was written)');

    const refused = await h.eim(['update', 'start', '--policy', 'pkgs', '--region', 'eu']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing without --yes/);

    await create('/schedules', { name: 'berlin-now', spec: { purpose: 'os-update', target: { siteId: ids.berlin }, single: { startAt: new Date(Date.now() - 1000).toISOString() } } });
    await until(async () => (await api('/hosts?filter=status.maintenance.inWindow%20%3D%20true')).json.items.length === 3, 'hosts in their window', POLL);
    const started = await h.eim(['update', 'start', '--policy', 'pkgs', '--region', 'eu', '--yes']);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^3 attached, 0 unchanged, 0 failed$/m);
    assert.match(started.stdout, /3 of 3 newly attached are in a window now/);

    const watched = await h.eim(['update', 'status', '--policy', 'pkgs', '--watch', '--interval', '0.2']);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /pkgs {2}\[#{30}\] 3\/3 {2}up to date 3, running 0 \(peak 2 of max 2\), pending 0, failed 0 \(max 1\)\n {2}done: 3\/3 up to date/);

    const aborted = await h.eim(['update', 'abort', '--policy', 'pkgs', '--site', 'berlin-1', '--yes']);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.match(aborted.stdout, /^3 detached, 0 unchanged, 0 failed$/m);
    assert.match(aborted.stdout, /0 running updates left to finish/);
    const attached = (await api('/instances')).json.items.filter((i: { spec: { osUpdatePolicyId?: string } }) => i.spec.osUpdatePolicyId);
    assert.equal(attached.length, 0);
  });

  test('bad input: no policy, an unknown policy, ids mixed with selectors', async () => {
    const none = await h.eim(['update', 'start', '--site', 'berlin-1']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--policy/);
    const unknown = await h.eim(['update', 'start', '--policy', 'nope', '--site', 'berlin-1', '--dry-run']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /nope/);
    const mixed = await h.eim(['update', 'abort', 'some-instance', '--policy', 'pkgs', '--site', 'berlin-1']);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /not both/);
  });
});
