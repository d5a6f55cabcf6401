import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';
import { FleetSimulator } from './fleet-simulator.ts';

// End to end: OS update rollouts in a real server process (its managers and window cache), over
// real HTTP, with real Schedule resources, and simulated agents (the real agent code with the sim
// executor: download, apply, reboot, verify, injected failures and rollback).

/** Three sites, each a scenario: the waves (A), the failing wave (B), the deleted schedule (C). */
const SITE_A = [0, 12];
const SITE_B = [12, 18];
const SITE_C = [18, 24];
const NODES = 24;

/** Each poll asks the server over HTTP. */
const POLL = { timeoutMs: 30_000, intervalMs: 100 };

/** The most runs whose [startedAt, endedAt) overlap, from the run records alone. */
function observedPeak(runs: any[]): number {
  const edges: [number, number][] = runs.flatMap((r) => [
    [Date.parse(r.status.startedAt), 1] as [number, number],
    [r.status.endedAt ? Date.parse(r.status.endedAt) : Infinity, -1] as [number, number],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (cur += d));
  return peak;
}

describe('OS update rollouts end to end', () => {
  let server: ServerProcess;
  let sim: FleetSimulator;
  let base = '';
  let token = '';
  const tmp = tempDir();
  const ids: Record<string, string> = {};
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${base}${path}`, { token, ...o });
  const create = async (path: string, body: unknown) => {
    const r = await api(path, { method: 'POST', body });
    assert.equal(r.status, 201, r.body);
    return r.json;
  };
  const all = async (path: string) => {
    const r = await api(`${path}${path.includes('?') ? '&' : '?'}pageSize=1000`);
    assert.equal(r.status, 200, r.body);
    return r.json.items as any[];
  };
  const instancesOf = async (siteId: string) => {
    const hosts = new Set((await all(`/hosts?filter=${encodeURIComponent(`spec.siteId = ${siteId}`)}`)).map((h) => h.id));
    return (await all('/instances')).filter((i) => hosts.has(i.spec.hostId));
  };
  const runsOf = async (policyId: string) => (await all('/os-update-runs')).filter((r) => r.status.policyId === policyId);
  const policy = async (id: string) => (await api(`/os-update-policies/${id}`)).json;
  const attach = async (siteId: string, policyId: string) => {
    for (const i of await instancesOf(siteId)) assert.equal((await api(`/instances/${i.id}`, { method: 'PATCH', body: { spec: { osUpdatePolicyId: policyId } } })).status, 200);
  };

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    base = `${server.url}/v1/projects/default`;
    token = server.token;
    const os = { sha256: 'a'.repeat(64), profileName: 'ubuntu', osType: 'mutable', architecture: 'x86_64' };
    ids.osA = (await create('/operating-systems', { name: 'ubuntu-22-04', labels: { default: 'true' }, spec: { ...os, imageUrl: 'https://images.example/u22.img', profileVersion: '22.04' } })).id;
    ids.osB = (await create('/operating-systems', { name: 'ubuntu-24-04', spec: { ...os, imageUrl: 'https://images.example/u24.img', profileVersion: '24.04' } })).id;
    ids.region = (await create('/regions', { name: 'eu', spec: {} })).id;
    for (const s of ['a', 'b', 'c']) ids[`site${s}`] = (await create('/sites', { name: `site-${s}`, spec: { regionId: ids.region } })).id;
    const enrollment = await api('/tokens', { method: 'POST', body: { role: 'enrollment' } });
    const inB = (i: number) => i >= SITE_B[0] && i < SITE_B[1];
    const inC = (i: number) => i >= SITE_C[0] && i < SITE_C[1];
    sim = new FleetSimulator({
      server: server.url,
      enrollmentToken: enrollment.json.token,
      nodes: NODES,
      seed: 'upd',
      heartbeatMs: 1000,
      provisionTimeMs: 300,
      rescanMs: 60_000,
      // Site B's nodes install fine, then fail their update (and roll back); site C's updates are slow.
      executorFor: (i) => (inB(i) ? { script: ['ok', 'unrecoverable'] } : inC(i) ? { durationMs: 1500 } : {}),
    });
    for (const n of sim.identities()) {
      const site = n.index < SITE_A[1] ? ids.sitea : inB(n.index) ? ids.siteb : ids.sitec;
      await create('/hosts', { name: n.hostname, spec: { uuid: n.uuid, siteId: site, desiredState: 'onboarded', autoProvision: true } });
    }
    await sim.start();
    await until(async () => (await all('/instances?filter=status.currentState%20%3D%20%22running%22')).length === NODES && true, 'every instance running', { timeoutMs: 60_000, intervalMs: 100 });
  });
  after(async () => {
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test('a window opens and updates start, never outside it, in waves that never exceed maxConcurrent', async () => {
    const p = await create('/os-update-policies', { name: 'to-24-04', spec: { policy: 'target', targetOsId: ids.osB, rollout: { maxConcurrent: 3, maxFailures: 2 } } });
    await attach(ids.sitea, p.id);
    const opensAt = Date.now() + 2500;
    const endsAt = opensAt + 120_000;
    const sched = await create('/schedules', { name: 'site-a-updates', spec: { purpose: 'os-update', target: { siteId: ids.sitea }, single: { startAt: new Date(opensAt).toISOString(), endAt: new Date(endsAt).toISOString() } } });
    await until(async () => (await policy(p.id)).status?.rollout?.pending === 12, 'the policy sees all 12 pending', POLL);
    assert.equal((await runsOf(p.id)).length, 0, 'no update before the window opens');
    const host = (await all(`/hosts?filter=${encodeURIComponent(`spec.siteId = ${ids.sitea}`)}`))[0];
    assert.equal(host.status.maintenance?.inWindow, false);
    assert.equal(Date.parse(host.status.maintenance?.nextWindowAt), opensAt, 'the host shows when its window opens');

    const done = await until(async () => {
      const x = await policy(p.id);
      return x.status.rollout?.upToDate === 12 && x;
    }, 'all of site A updated', POLL);
    const runs = await runsOf(p.id);
    assert.equal(runs.length, 12);
    for (const r of runs) {
      const t = Date.parse(r.status.startedAt);
      assert.ok(t >= opensAt && t < endsAt, `run ${r.name} started at ${r.status.startedAt}, inside the window ${new Date(opensAt).toISOString()} …`);
      assert.deepEqual([r.status.phase, r.status.fromOsId, r.status.targetOsId], ['done', ids.osA, ids.osB]);
    }
    assert.equal(observedPeak(runs), 3, 'the run records never overlap more than maxConcurrent (and use all of it)');
    assert.deepEqual([done.status.rollout.peakRunning, done.status.rollout.failed, done.status.rollout.halted], [3, 0, false]);
    for (const i of await instancesOf(ids.sitea)) {
      assert.deepEqual([i.status.currentOsId, i.status.provisionedOsId, i.spec.osId, i.status.updateStatus?.message], [ids.osB, ids.osA, ids.osA, 'updated to ubuntu 24.04']);
      const history = (await api(`/events?id=${i.id}&limit=1000`)).json.events.map((e: any) => e.object.status.updateStatus?.message).filter(Boolean);
      assert.ok(history.some((m: string) => m.startsWith('downloading ubuntu 24.04')), `phases shown: ${[...new Set(history)].join(' | ')}`);
    }
    // An update is no reinstall: one install-os per node, ever.
    const installs = (await api('/events?kinds=commands&limit=1000')).json.events.filter((e: any) => e.type === 'CREATED' && e.object.spec.type === 'install-os');
    assert.equal(installs.length, NODES, 'one install per node');
    assert.equal((await api(`/schedules/${sched.id}`, { method: 'DELETE' })).status, 200);
  });

  test('failures reaching maxFailures halt the rollout; a failed update rolls back and the run says to what', async () => {
    const p = await create('/os-update-policies', { name: 'b-to-24-04', spec: { policy: 'latest', rollout: { maxConcurrent: 2, maxFailures: 2 } } });
    await create('/schedules', { name: 'site-b-nightly', spec: { purpose: 'maintenance', target: { regionId: ids.region }, repeated: { cron: '* * * * *', durationSeconds: 3600 } } });
    await attach(ids.siteb, p.id);
    const halted = await until(async () => {
      const x = await policy(p.id);
      return x.status.rollout?.halted && x.status.rollout.running === 0 && x;
    }, 'halted', POLL);
    // Updates already running when the 2nd failure came finish (and may fail too).
    assert.ok(halted.status.rollout.failed >= 2 && halted.status.rollout.failed <= 3, `${halted.status.rollout.failed} failed`);
    assert.equal(halted.status.rolloutStatus.indicator, 'error');
    assert.match(halted.status.rolloutStatus.message, /^halted: [23] failed updates reached maxFailures 2; no new update starts/);
    // The failures name the profile rolled back to, not its id (issue 11: names where ids were shown).
    assert.match(halted.status.rolloutStatus.message, /rolled back to ubuntu 22\.04/);
    assert.doesNotMatch(halted.status.rolloutStatus.message, /rolled back to os-/);
    await new Promise((r) => setTimeout(r, 1500));
    const runs = await runsOf(p.id);
    assert.equal(runs.length, halted.status.rollout.failed, 'nothing started after the halt');
    const haltAt = runs.map((r) => Date.parse(r.status.endedAt)).sort((a, b) => a - b)[1];
    assert.ok(runs.every((r) => Date.parse(r.status.startedAt) <= haltAt), 'no run started after the 2nd failure was recorded');
    for (const r of runs) {
      assert.deepEqual([r.status.phase, r.status.rolledBackToOsId, r.status.fromOsId, r.status.targetOsId, r.status.runStatus.indicator], ['rolled-back', ids.osA, ids.osA, ids.osB, 'error']);
      assert.ok(r.status.endedAt && Date.parse(r.status.endedAt) >= Date.parse(r.status.startedAt));
      assert.match(JSON.parse(r.status.details).details.failedPhase, /applying|rebooting/);
      const inst = (await api(`/instances/${r.status.instanceId}`)).json;
      assert.equal(inst.status.currentOsId, ids.osA, 'currentOsId unchanged');
      assert.equal(inst.status.updateStatus.indicator, 'error');
      assert.match(inst.status.updateStatus.message, /^update failed: simulated update failure while \w+: .*; rolled back to ubuntu 22\.04$/);
      assert.match(r.status.runStatus.message, /^update to ubuntu 24\.04 failed: simulated update failure while \w+: .*; rolled back to ubuntu 22\.04$/);
    }
    assert.equal(halted.status.rollout.pending, 6 - runs.length);
  });

  test('deleting a schedule mid-rollout stops new starts; the running update finishes', async () => {
    const p = await create('/os-update-policies', { name: 'c-to-24-04', spec: { policy: 'target', targetOsId: ids.osB, rollout: { maxConcurrent: 1, maxFailures: 1 } } });
    // Site B's repeated window covers the whole region: narrow site C to its own schedule by moving it out.
    const region2 = (await create('/regions', { name: 'us', spec: {} })).id;
    assert.equal((await api(`/sites/${ids.sitec}`, { method: 'PATCH', body: { spec: { regionId: region2 } } })).status, 200);
    const sched = await create('/schedules', { name: 'site-c-now', spec: { purpose: 'os-update', target: { siteId: ids.sitec }, single: { startAt: new Date(Date.now() - 1000).toISOString() } } });
    await attach(ids.sitec, p.id);
    await until(async () => (await runsOf(p.id)).length >= 1, 'the first update runs', POLL);
    const deletedAt = Date.now();
    assert.equal((await api(`/schedules/${sched.id}`, { method: 'DELETE' })).status, 200);
    const before = await runsOf(p.id);
    await until(async () => (await runsOf(p.id)).every((r) => r.status.endedAt), 'the running update finishes', POLL);
    // Long enough for two more 1.5 s updates, had anything started.
    await new Promise((r) => setTimeout(r, 3500));
    const after = await runsOf(p.id);
    assert.equal(after.length, before.length, 'no new start after the schedule went');
    assert.ok(after.every((r) => Date.parse(r.status.startedAt) <= deletedAt + 200));
    assert.ok(after.every((r) => r.status.phase === 'done'));
    const x = await policy(p.id);
    assert.deepEqual([x.status.rollout.running, x.status.rollout.pending, x.status.rollout.halted], [0, 6 - after.length, false]);
  });
});
