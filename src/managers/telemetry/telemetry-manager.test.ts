import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../api/index.ts';
import { startManagers } from '../start-managers.ts';
import { type Harness, type Host, MANAGER, openHarness, sleep, until } from '../testing/manager-harness.ts';

const P = 'default';

async function create(h: Harness, kind: string, name: string, spec: Record<string, unknown>): Promise<Resource> {
  return h.user.create(P, kind, { name, spec });
}

const telemetryOf = async (h: Harness, id: string) => (await h.get('Host', id)).status.telemetry;

/** Waits until every listed host shows the expected metrics intervals ({} for no metrics; undefined for no field). */
async function settle(h: Harness, want: Record<string, Record<string, number> | undefined>, what: string): Promise<void> {
  await until(async () => {
    for (const [hostId, metrics] of Object.entries(want)) {
      const t = await telemetryOf(h, hostId);
      if (metrics === undefined) {
        if (t !== undefined) return false;
        continue;
      }
      if (!t) return false;
      const got = Object.fromEntries((t.config as { metrics: { groupId: string; intervalSeconds: number }[] }).metrics.map((m) => [m.groupId, m.intervalSeconds]));
      if (JSON.stringify(got) !== JSON.stringify(metrics)) return false;
    }
    const s = h.managers.stats().telemetry;
    return s.queueLength + s.inFlight === 0;
  }, what);
}

test('telemetry manager: profiles reach exactly the hosts under their target; moves and re-parenting recompute; unchanged configs are never rewritten', async () => {
  const h = await openHarness();
  try {
    const root = await create(h, 'Region', 'root', {});
    const child = await create(h, 'Region', 'child', { parentRegionId: root.id });
    const other = await create(h, 'Region', 'other', {});
    const s1 = await create(h, 'Site', 's1', { regionId: child.id });
    const s2 = await create(h, 'Site', 's2', { regionId: other.id });
    const h1 = await h.host('h1', { siteId: s1.id });
    const h2 = await h.host('h2', { siteId: s1.id });
    const h3 = await h.host('h3', { siteId: s2.id });
    const h4 = await h.host('h4');
    const os = await h.os('ubuntu');
    const inst1 = await h.user.create(P, 'Instance', { name: 'i1', spec: { hostId: h1.id, osId: os.id, desiredState: 'running' } });
    const cpu = await create(h, 'TelemetryGroup', 'cpu', { type: 'metrics', collector: 'host', groups: ['cpu', 'mem'] });
    const syslog = await create(h, 'TelemetryGroup', 'syslog', { type: 'logs', collector: 'host', groups: ['syslog'] });
    await sleep(100);
    assert.equal(h.managers.stats().telemetry.writes, 0, 'no profile, no write');

    // A root-region profile reaches the hosts of the nested region's site, and no other.
    const rootCpu = await create(h, 'TelemetryProfile', 'root-cpu', { target: { regionId: root.id }, groupId: cpu.id, metricsIntervalSeconds: 300 });
    await settle(h, { [h1.id]: { [cpu.id]: 300 }, [h2.id]: { [cpu.id]: 300 }, [h3.id]: undefined, [h4.id]: undefined }, 'root profile applied');
    const t1 = (await telemetryOf(h, h1.id))!;
    assert.deepEqual(t1.sources, [{ groupId: cpu.id, profileId: rootCpu.id, level: 'region', targetId: root.id, fields: ['metricsIntervalSeconds'] }]);
    assert.match(t1.version, /^[0-9a-f]{16}$/);
    assert.equal(h.managers.stats().telemetry.writes, 2);

    // An instance profile changes only its host; a site profile inherits a field from the root.
    const instCpu = await create(h, 'TelemetryProfile', 'inst-cpu', { target: { instanceId: inst1.id }, groupId: cpu.id, metricsIntervalSeconds: 10 });
    await create(h, 'TelemetryProfile', 'root-syslog', { target: { regionId: root.id }, groupId: syslog.id, logLevel: 'warn' });
    const siteSyslog = await create(h, 'TelemetryProfile', 's1-syslog', { target: { siteId: s1.id }, groupId: syslog.id });
    await settle(h, { [h1.id]: { [cpu.id]: 10 }, [h2.id]: { [cpu.id]: 300 } }, 'instance profile applied');
    await until(async () => (await telemetryOf(h, h2.id))?.sources.some((s) => s.profileId === siteSyslog.id), 'site profile applied');
    const t2 = (await telemetryOf(h, h2.id))!;
    assert.deepEqual((t2.config as { logs: unknown[] }).logs, [{ groupId: syslog.id, collector: 'host', groups: ['syslog'], level: 'warn' }]);
    assert.deepEqual(
      t2.sources.filter((s) => s.groupId === syslog.id).map((s) => [s.level, s.fields]),
      [['site', []], ['region', ['logLevel']]],
      'the site profile wins the group, its log level comes from the root region',
    );

    // A site moving into the tree, then a region re-parented out of it.
    await h.user.update(P, 'Site', s2.id, { spec: { regionId: child.id } });
    await settle(h, { [h3.id]: { [cpu.id]: 300 } }, 'h3 follows its site into the root region');
    await h.user.update(P, 'Region', child.id, { spec: { parentRegionId: other.id } });
    await settle(h, { [h1.id]: { [cpu.id]: 10 }, [h2.id]: {}, [h3.id]: {} }, 'the child region left the root: only the instance profile remains');
    assert.deepEqual((await telemetryOf(h, h2.id))!.config, { metrics: [], logs: [{ groupId: syslog.id, collector: 'host', groups: ['syslog'], level: 'info' }] });

    // A group change reaches the hosts whose profiles use it; a host leaving its site loses the site's profile.
    await h.user.update(P, 'TelemetryGroup', cpu.id, { spec: { groups: ['cpu'] } });
    await until(async () => JSON.stringify((await telemetryOf(h, h1.id))?.config).includes('"groups":["cpu"]'), 'group change applied');
    await h.user.update(P, 'Host', h2.id, { spec: { siteId: null } });
    await until(async () => (await telemetryOf(h, h2.id))?.sources.length === 0, 'h2 lost its profiles: empty config');
    assert.deepEqual((await telemetryOf(h, h2.id))!.config, { metrics: [], logs: [] });
    await h.user.delete(P, 'TelemetryProfile', instCpu.id);
    await until(async () => (await telemetryOf(h, h1.id))?.sources.every((s) => s.groupId !== cpu.id), 'instance profile removed');

    // Every write changed something: count the telemetry changes in the hosts' event logs.
    await sleep(100);
    let changes = 0;
    for (const host of [h1, h2, h3, h4]) {
      const events = (await h.user.events({ project: P, id: host.id, limit: 1000 })).events;
      let before = 'none';
      for (const e of events) {
        const t = (e.object.status as Host['status']).telemetry;
        const now = t ? JSON.stringify([t.version, t.sources]) : 'none';
        if (now !== before) changes++;
        before = now;
      }
    }
    assert.equal(h.managers.stats().telemetry.writes, changes, 'one write per change, none without one');
    assert.equal(h.managers.stats().telemetry.retries, 0);

    // A restart recomputes every host and writes nothing.
    const again = await startManagers(h.svc.as(MANAGER), { backoff: { baseMs: 50, maxMs: 2000 } });
    try {
      await again.synced;
      await until(() => again.stats().telemetry.reconciles >= 4 && again.stats().telemetry.queueLength + again.stats().telemetry.inFlight === 0, 'restarted manager settled');
      assert.equal(again.stats().telemetry.writes, 0);
    } finally {
      await again.stop();
    }
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('telemetry manager: a selector profile reaches the hosts it matches, follows label changes, and counts them in matchedHosts', async () => {
  const h = await openHarness();
  try {
    const eu = await create(h, 'Region', 'eu', {});
    await h.user.update(P, 'Region', eu.id, { labels: { env: 'canary' } });
    const site = await create(h, 'Site', 's1', { regionId: eu.id });
    const other = await create(h, 'Region', 'us', {});
    const site2 = await create(h, 'Site', 's2', { regionId: other.id });
    const h1 = await h.host('h1', { siteId: site.id }); // canary through its region
    const h2 = await h.host('h2', { siteId: site2.id });
    const cpu = await create(h, 'TelemetryGroup', 'cpu', { type: 'metrics', collector: 'host', groups: ['cpu'] });
    const p = await create(h, 'TelemetryProfile', 'canary-cpu', { target: { selector: 'inheritedLabels.env = canary' }, groupId: cpu.id, metricsIntervalSeconds: 10 });
    await settle(h, { [h1.id]: { [cpu.id]: 10 }, [h2.id]: undefined }, 'the canary host collects');
    assert.deepEqual((await telemetryOf(h, h1.id))!.sources, [{ groupId: cpu.id, profileId: p.id, level: 'selector', targetId: 'inheritedLabels.env = canary', fields: ['metricsIntervalSeconds'] }]);
    await until(async () => (await h.user.get(P, 'TelemetryProfile', p.id)).status.matchedHosts === 1, 'matchedHosts 1');

    await h.user.update(P, 'Host', h2.id, { labels: { env: 'canary' } });
    await settle(h, { [h1.id]: { [cpu.id]: 10 }, [h2.id]: { [cpu.id]: 10 } }, 'h2 joins');
    await until(async () => (await h.user.get(P, 'TelemetryProfile', p.id)).status.matchedHosts === 2, 'matchedHosts 2');
    await h.user.update(P, 'Region', eu.id, { labels: { env: null } });
    await settle(h, { [h1.id]: {}, [h2.id]: { [cpu.id]: 10 } }, 'h1 leaves: told to stop collecting');
    await until(async () => (await h.user.get(P, 'TelemetryProfile', p.id)).status.matchedHosts === 1, 'matchedHosts 1 again');
    const bad = await h.user.create(P, 'TelemetryProfile', { name: 'bad', spec: { target: { selector: 'labels.env = (' }, groupId: cpu.id } }).catch((e) => e);
    assert.equal(bad.code, 'invalid_argument');
    assert.match(bad.message, /^spec\.target\.selector: filter: /);
  } finally {
    await h.close();
  }
});
