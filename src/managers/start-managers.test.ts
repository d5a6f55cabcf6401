import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openHarness, until } from './testing/manager-harness.ts';

test('a fleet: 50 registered hosts enrol, are onboarded, and each gets a running instance of the default OS', async () => {
  const h = await openHarness({ southbound: { answerMs: 50 } });
  try {
    const os = await h.os('ubuntu', { default: 'true' });
    await h.os('debian');
    const hosts = await Promise.all(Array.from({ length: 50 }, (_, i) => h.host(`edge-${String(i).padStart(2, '0')}`, { autoProvision: true })));
    const t0 = Date.now();
    await Promise.all(hosts.map((host) => h.sb.enroll(host)));
    await until(async () => (await h.user.list('default', 'Instance', { filter: 'status.currentState = running', pageSize: 1 })).totalSize === 50, '50 instances running', 20_000);
    const took = Date.now() - t0;

    const hostPage = await h.user.list('default', 'Host', { pageSize: 100 });
    assert.equal(hostPage.items.filter((x) => x.status.currentState === 'onboarded' && x.status.onboardingStatus?.message === 'onboarded').length, 50);
    const instances = (await h.user.list('default', 'Instance', { pageSize: 100 })).items;
    assert.equal(instances.length, 50, 'one instance per host');
    assert.deepEqual(new Set(instances.map((i) => i.spec.hostId)), new Set(hosts.map((x) => x.id)));
    assert.ok(instances.every((i) => i.status.currentOsId === os.id && i.status.provisioningStatus?.message === 'provisioned ubuntu 22.04'));
    assert.equal(h.sb.deliveries.length, 50, 'one install command per instance, none twice');
    await until(async () => (await h.user.list('default', 'Command')).totalSize === 0, 'commands cleaned up');
    // A read may see a commit a moment before its events reach the caches (they go out after its sync).
    await until(() => h.managers.stats().cached.commands === 0, 'the command cache caught up');
    const stats = h.managers.stats();
    assert.deepEqual(stats.cached, { hosts: 50, instances: 50, commands: 0 });
    assert.deepEqual([stats.commands.created, stats.host.retries, stats.instance.retries, stats.host.terminals, stats.instance.terminals], [50, 0, 0, 0, 0]);
    assert.deepEqual(h.errors, []);
    process.stdout.write(`# 50 hosts from enrolment to instance running in ${took} ms\n`);
  } finally {
    await h.close();
  }
});

test('stop() leaves nothing running and is idempotent', async () => {
  const h = await openHarness();
  const a = h.managers.stop();
  const b = h.managers.stop();
  assert.equal(a, b);
  await a;
  const s = h.managers.stats();
  assert.equal(s.host.inFlight + s.instance.inFlight, 0);
  await h.close();
});

test('out of process: the managers over HTTP with a manager token reconcile the same way', async () => {
  const h = await openHarness({ overHttp: true, southbound: { answerMs: 20 } });
  try {
    const os = await h.os('ubuntu', { default: 'true' });
    const hosts = await Promise.all(['edge-a', 'edge-b', 'edge-c'].map((n) => h.host(n, { autoProvision: true })));
    await Promise.all(hosts.map((x) => h.sb.enroll(x)));
    await until(async () => (await h.user.list('default', 'Instance', { filter: 'status.currentState = running' })).totalSize === 3, '3 instances running');
    const inst = (await h.user.list('default', 'Instance')).items;
    assert.ok(inst.every((i) => i.status.currentOsId === os.id));
    const ev = await h.user.events({ project: 'default', id: inst[0].id, limit: 100 });
    assert.ok(ev.events.every((e) => e.actor === 'host-manager (manager)'), 'written with the manager token');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a Host change only the host manager reads (power status) reconciles no other manager; a label change does', async () => {
  const h = await openHarness();
  try {
    const host = await h.host('edge-power', { desiredState: 'registered' });
    const counts = () => {
      const s = h.managers.stats();
      return { host: s.host.reconciles, telemetry: s.telemetry.reconciles, labels: s.labels.hosts.reconciles, nodeConfig: s.nodeConfig.reconciles, maintenance: s.maintenance.hosts.reconciles };
    };
    const idle = () => {
      const s = h.managers.stats();
      return [s.host, s.telemetry, s.labels.hosts, s.nodeConfig, s.maintenance.hosts].every((c) => c.inFlight === 0 && c.queueLength === 0);
    };
    await until(() => counts().telemetry > 0 && counts().labels > 0 && idle(), 'the create reconciled by every manager');
    const before = counts();
    const mgr = h.svc.as({ subject: 'agent-sim', grants: [{ project: '*', role: 'manager' }] });
    await mgr.updateStatus('default', 'Host', host.id, { currentPowerState: 'off', powerStatus: { indicator: 'idle', message: 'power off', timestamp: new Date().toISOString() } });
    await until(() => counts().host > before.host && idle(), 'the host manager reconciled the power change');
    const after = counts();
    assert.deepEqual({ ...after, host: 0 }, { ...before, host: 0 }, 'no other manager reconciled');
    await h.user.update('default', 'Host', host.id, { labels: { env: 'canary' } });
    await until(() => counts().labels > after.labels && idle(), 'the labels manager reconciled the label change');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});
