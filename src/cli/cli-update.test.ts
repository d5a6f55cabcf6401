import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FleetSimulator } from '../sim/fleet-simulator.ts';
import { call } from '../testing/http-client.ts';
import { until } from '../testing/until.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// `eim update` against a real server running its managers, with a small simulated fleet.

const NODES = 9;
const SLOW = 4;
const FAILING = 5;
/** Its install fails for good once (the retry then works). */
const BROKEN = 7;
/** Its first power command fails for good once. */
const POWERLESS = 8;

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
    ids.south = await create('/regions', { name: 'south', spec: {} });
    ids.munich = await create('/sites', { name: 'munich-1', spec: { regionId: ids.south } });
    // Nodes 0-2 in berlin-1, 3 on no site (no window), 4-6 in munich-1: 4 updates slowly (still
    // running when aborted), 5 fails its first update, 6 updates at once.
    sim = new FleetSimulator({
      server: h.server.url, enrollmentToken: enrollment.json.token, nodes: NODES, seed: 'cliupd', heartbeatMs: 1000, provisionTimeMs: 200, rescanMs: 60_000,
      executorFor: (i) =>
        i === SLOW ? { updateDurationMs: 120_000 }
        : i === FAILING || i === POWERLESS ? { script: ['ok', 'unrecoverable'] }
        : i === BROKEN ? { script: ['unrecoverable'] }
        : {},
    });
    for (const n of sim.identities()) {
      const siteId = n.index < 3 ? ids.berlin : n.index >= 4 && n.index <= 6 ? ids.munich : undefined;
      await create('/hosts', { name: n.hostname, spec: { uuid: n.uuid, desiredState: 'onboarded', autoProvision: true, ...(siteId ? { siteId } : {}) } });
    }
    await sim.start();
    await until(async () => (await api('/instances?filter=status.currentState%20%3D%20%22running%22')).json.items.length === NODES - 1, 'instances running', POLL);
    await until(async () => (await api('/instances?filter=status.provisioningStatus.indicator%20%3D%20error')).json.items.length === 1, 'the broken install parked', POLL);
  });
  after(async () => {
    await sim?.stop();
    await h?.close();
  });

  test('start --dry-run shows the change and each host window; a bulk change needs --yes; status --watch follows the rollout to done; abort leaves updated instances alone', async () => {
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

    // Abort after the rollout is done: nothing had not started, so nothing is detached.
    const aborted = await h.eim(['update', 'abort', '--policy', 'pkgs', '--site', 'berlin-1', '--yes']);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.equal((aborted.stdout.match(/: already updated: left as it is$/gm) ?? []).length, 3, aborted.stdout);
    assert.match(aborted.stdout, /^0 detached \(not started\), 0 running updates left to finish, 3 already updated, 0 failed$/m);
    const attached = (await api('/instances')).json.items.filter((i: { spec: { osUpdatePolicyId?: string } }) => i.spec.osUpdatePolicyId);
    assert.equal(attached.length, 3, 'the updated instances keep their policy');
  });

  test('abort detaches only what has not started, and reports running, updated and failed updates apart', async () => {
    const node = (i: number) => sim.identities()[i].hostname;
    await create('/schedules', { name: 'munich-now', spec: { purpose: 'os-update', target: { siteId: ids.munich }, single: { startAt: new Date(Date.now() - 1000).toISOString() } } });
    await until(async () => (await api('/hosts?filter=status.maintenance.inWindow%20%3D%20true')).json.items.length === 6, 'munich in its window', POLL);
    await create('/os-update-policies', { name: 'kern', spec: { policy: 'latest', kernelCommand: 'quiet', rollout: { maxConcurrent: 5, maxFailures: 5 } } });
    const started = await h.eim(['update', 'start', '--policy', 'kern', '--filter', `name = "${node(3)}" OR name = "${node(4)}" OR name = "${node(5)}" OR name = "${node(6)}"`, '--yes']);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^4 attached/m);
    const runs = async () => (await api('/os-update-runs')).json.items.filter((r: { status: { policyId: string } }) => r.status.policyId !== ids.policy);
    await until(async () => {
      const rs = await runs();
      return rs.some((r: { status: { phase?: string } }) => r.status.phase === 'done') && rs.some((r: { status: { phase?: string } }) => r.status.phase === 'rolled-back') && rs.some((r: { status: { endedAt?: string } }) => !r.status.endedAt);
    }, 'one update done, one failed, one running', POLL);

    const dry = await h.eim(['update', 'abort', '--policy', 'kern', '--filter', 'name = "cliupd-*"', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^instance/${node(3)} \\(inst-[0-9a-f]{8}\\): update not started: would be detached`, 'm'));
    assert.match(dry.stdout, /^1 would be detached, 1 running update left to finish, 1 already updated, 1 failed, 5 not attached to kern \(dry run: nothing was written\)$/m);

    const aborted = await h.eim(['update', 'abort', '--policy', 'kern', '--filter', 'name = "cliupd-*"', '--yes']);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.match(aborted.stdout, /^1 detached, 0 unchanged, 0 failed$/m);
    assert.match(aborted.stdout, new RegExp(`^instance/${node(SLOW)} \\(inst-[0-9a-f]{8}\\): its update is running: left attached to finish`, 'm'));
    assert.match(aborted.stdout, new RegExp(`^instance/${node(6)} \\(inst-[0-9a-f]{8}\\): already updated: left as it is$`, 'm'));
    assert.match(aborted.stdout, new RegExp(`^instance/${node(FAILING)} \\(inst-[0-9a-f]{8}\\): its update failed \\(update to .+ failed: .+\\): left as it is; it is not tried again for this update$`, 'm'));
    assert.match(aborted.stdout, /^1 detached \(not started\), 1 running update left to finish, 1 already updated, 1 failed, 5 not attached to kern$/m);
    const policyOf = async (i: number) => (await api(`/instances?filter=${encodeURIComponent(`name = "${node(i)}"`)}`)).json.items[0].spec.osUpdatePolicyId;
    assert.equal(await policyOf(3), undefined, 'the update that had not started is detached');
    for (const i of [SLOW, FAILING, 6]) assert.ok(await policyOf(i), `${node(i)} keeps the policy`);
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

  test('start --selector: the instances on the hosts a filter over hosts matches, inherited labels included; --dry-run lists exactly those', async () => {
    const node = (i: number) => sim.identities()[i].hostname;
    const hostId = async (i: number) => (await api(`/hosts?filter=${encodeURIComponent(`name = "${node(i)}"`)}`)).json.items[0].id as string;
    // canary: the south region (so munich-1's hosts 4-6, inherited) and host 3 on its own label.
    assert.equal((await api(`/regions/${ids.south}`, { method: 'PATCH', body: { labels: { env: 'canary' } } })).status, 200);
    assert.equal((await api(`/hosts/${await hostId(3)}`, { method: 'PATCH', body: { labels: { env: 'canary' } } })).status, 200);
    const canary = `filter=${encodeURIComponent('inheritedLabels.env = "canary"')}`;
    await until(async () => (await api(`/hosts?${canary}`)).json.totalSize === 4, 'inherited labels written', POLL);
    const dry = await h.eim(['update', 'start', '--policy', 'pkgs', '--selector', 'inheritedLabels.env = "canary"', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    const hosts = [...dry.stdout.matchAll(/^instance\/\S+ \(inst-[0-9a-f]{8}\): .*; host (\S+): /gm)].map((m) => m[1]).sort();
    assert.deepEqual(hosts, [3, 4, 5, 6].map(node), dry.stdout);
    assert.match(dry.stdout, /\(dry run: nothing was written\)$/m);
    const bad = await h.eim(['update', 'start', '--policy', 'pkgs', '--selector', 'inheritedLabels.env =', '--dry-run']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /filter: expected a value after "="/);
  });

  test('instance retry and host retry try again exactly what a manager gave up on; describe shows the trace', async () => {
    const node = (i: number) => sim.identities()[i].hostname;
    const dry = await h.eim(['instance', 'retry', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^would retry: instance/${node(BROKEN)} \\(inst-[0-9a-f]{8}\\): provisioningStatus: installing .* failed: simulated unrecoverable failure .*\\(not retried until the spec changes\\)$`, 'm'));
    assert.match(dry.stdout, /^1 instance would be retried \(dry run: nothing was written\)$/m);
    const refused = await h.eim(['instance', 'retry']);
    assert.equal(refused.code, 2, 'a bulk retry without a terminal needs --yes');
    const retried = await h.eim(['instance', 'retry', '--filter', 'name = "cliupd-*"', '--yes']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /^1 retried, 0 unchanged, 0 failed$/m);
    const inst = await until(async () => {
      const i = (await api(`/instances?filter=${encodeURIComponent(`name = "${node(BROKEN)}"`)}`)).json.items[0];
      return i.status.currentState === 'running' && i.status.observedGeneration === i.generation && i;
    }, 'the retried install runs', POLL);
    assert.ok(inst.labels['eim.io/retry'], 'the retry is a label');
    const again = await h.eim(['instance', 'retry', node(BROKEN)]);
    assert.match(again.stdout, /not in an unrecoverable error: nothing to retry/);
    const described = await h.eim(['describe', 'instance', node(BROKEN)], { env: { COLUMNS: '250' } });
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^Status changes:/m);
    assert.match(described.stdout, /provisioningStatus\s+error\s+installing .* failed: simulated unrecoverable failure/);
    assert.match(described.stdout, /provisioningStatus\s+idle\s+provisioned /);
    assert.match(described.stdout, /hostId: host-[0-9a-f]{8} \(cliupd-00007\)/, 'ids show their names');

    // A power command the agent refuses for good parks the host; host retry sends it again.
    const host = (await api(`/hosts?filter=${encodeURIComponent(`name = "${node(POWERLESS)}"`)}`)).json.items[0];
    assert.equal((await h.eim(['patch', 'host', host.name, '--set', 'spec.desiredPowerState=reset'])).code, 0);
    await until(async () => (await api(`/hosts/${host.id}`)).json.status.powerStatus?.indicator === 'error', 'the power failure', POLL);
    const hostDry = await h.eim(['host', 'retry', '--dry-run']);
    assert.match(hostDry.stdout, new RegExp(`^would retry: host/${node(POWERLESS)} \\(host-[0-9a-f]{8}\\): powerStatus: resetting failed: .*$`, 'm'));
    const hostRetried = await h.eim(['host', 'retry', '--yes']);
    assert.match(hostRetried.stdout, /^1 retried, 0 unchanged, 0 failed$/m);
    await until(async () => (await api(`/hosts/${host.id}`)).json.status.powerStatus?.indicator === 'idle', 'the reset done', POLL);
  });
});
