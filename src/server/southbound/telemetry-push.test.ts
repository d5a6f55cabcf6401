import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentTelemetryReport } from '../../api/index.ts';
import { type CollectConfig, MemoryLog, systemClock, TelemetryBuffer, TelemetryRunner } from '../../agent/index.ts';
import { openSse, type SseFrame } from '../../testing/http-client.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';

// The southbound half of telemetry: status.telemetry (as the telemetry manager writes it) goes to
// the agent's stream once per version per connection; the agent's configVersion lands in appliedVersion;
// what the agent's runner reports of its collection (unknown groups, buffer drops) lands in status.telemetry.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('southbound telemetry push', () => {
  let srv: TestApp;
  const manager = { subject: 'telemetry-manager', grants: [{ project: '*', role: 'manager' as const }] };

  before(async () => {
    srv = await openTestApp({ southbound: { leaseCheckMs: 50 }, listen: true });
  });
  after(() => srv.close());

  const call: TestApp['call'] = (...args) => srv.call(...args);
  const enrolled = async (name: string) => {
    const host = (await call('POST', '/v1/projects/default/hosts', srv.admin, { name, spec: { serialNumber: `SN-${name}`, desiredState: 'onboarded' } })).json;
    const et = (await call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment' })).json.token;
    const agent = (await call('POST', '/southbound/v1/enroll', et, { serialNumber: `SN-${name}`, hostname: name })).json.token as string;
    return { host, agent };
  };
  const telemetry = (version: string, interval: number, sourceTarget = 'region-00000001') => ({
    telemetry: {
      version,
      config: { metrics: [{ groupId: 'telemetrygroup-00000001', collector: 'host', groups: ['cpu'], intervalSeconds: interval }], logs: [] },
      sources: [{ groupId: 'telemetrygroup-00000001', profileId: 'telemetryprofile-00000001', level: 'region', targetId: sourceTarget, fields: ['metricsIntervalSeconds'] }],
    },
  });
  /** The report a real runner makes for `config` with `buffer` (the server is away: nothing is sent). */
  const runnerReport = (config: CollectConfig, buffer = new TelemetryBuffer({ maxBytes: 1 << 20 })): AgentTelemetryReport => {
    const reports: AgentTelemetryReport[] = [];
    const runner = new TelemetryRunner({
      metrics: { collect: async () => [] },
      logs: { problem: async () => undefined, read: async () => ({ entries: [], cursor: undefined }) },
      buffer,
      send: async () => Promise.reject(new Error('the server is away')),
      onReport: (r) => reports.push(r),
      onUnauthenticated: () => {},
      clock: systemClock,
      log: new MemoryLog(),
      resource: {},
    });
    runner.configure(config);
    runner.stop();
    assert.ok(reports.length > 0, 'the runner reported');
    return reports.at(-1)!;
  };
  const configs = (frames: SseFrame[]) => frames.filter((f) => f.event === 'config').map((f) => JSON.parse(f.data) as { version: string; config: any });
  const waitFor = async (what: string, cond: () => boolean) => {
    const t0 = Date.now();
    while (!cond()) {
      assert.ok(Date.now() - t0 < 3000, `timed out waiting for ${what}`);
      await sleep(10);
    }
  };

  test('the config goes out on connect and on each new version, once per version per connection', async () => {
    const { host, agent } = await enrolled('edge-t1');
    const mgr = srv.inventory.as(manager);
    await mgr.updateStatus('default', 'Host', host.id, telemetry('aaaaaaaaaaaaaaaa', 60));
    const frames: SseFrame[] = [];
    const s1 = await openSse(`${srv.url}/southbound/v1/stream`, { token: agent }, (f) => frames.push(f));
    try {
      await waitFor('the current config on connect', () => configs(frames).length === 1);
      assert.deepEqual(configs(frames)[0], { version: 'aaaaaaaaaaaaaaaa', config: telemetry('', 60).telemetry.config });

      // Other host writes, and a rewrite with the same version (only the sources moved), send nothing.
      await mgr.updateStatus('default', 'Host', host.id, { currentPowerState: 'on' });
      await mgr.updateStatus('default', 'Host', host.id, telemetry('aaaaaaaaaaaaaaaa', 60, 'region-00000002'));
      await mgr.updateStatus('default', 'Host', host.id, telemetry('bbbbbbbbbbbbbbbb', 30));
      await waitFor('the new version', () => configs(frames).length === 2);
      await mgr.updateStatus('default', 'Host', host.id, { currentPowerState: 'off' });
      await sleep(150);
      assert.deepEqual(configs(frames).map((c) => c.version), ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
      assert.equal(configs(frames)[1].config.metrics[0].intervalSeconds, 30);

      // A second connection of the same agent gets the current version once.
      const other: SseFrame[] = [];
      const s2 = await openSse(`${srv.url}/southbound/v1/stream`, { token: agent }, (f) => other.push(f));
      await waitFor('the config on the second connection', () => configs(other).length === 1);
      await sleep(100);
      s2.close();
      assert.deepEqual(configs(other).map((c) => c.version), ['bbbbbbbbbbbbbbbb']);
      assert.equal(configs(frames).length, 2, 'the first connection got nothing more');
    } finally {
      s1.close();
    }
  });

  test("the agent's configVersion becomes appliedVersion, written once; bad input is refused", async () => {
    const { host, agent } = await enrolled('edge-t2');
    const mgr = srv.inventory.as(manager);
    // No telemetry computed for the host: a reported version has nothing to attach to.
    assert.equal((await call('POST', '/southbound/v1/status', agent, { configVersion: 'cccccccccccccccc' })).status, 204);
    assert.equal((await mgr.get('default', 'Host', host.id)).status.telemetry, undefined);

    await mgr.updateStatus('default', 'Host', host.id, telemetry('cccccccccccccccc', 60));
    assert.equal((await call('POST', '/southbound/v1/status', agent, { powerState: 'on', configVersion: 'cccccccccccccccc' })).status, 204);
    const applied = await mgr.get('default', 'Host', host.id);
    assert.equal(applied.status.telemetry?.appliedVersion, 'cccccccccccccccc');
    assert.ok(Date.parse(applied.status.telemetry!.appliedAt!) > Date.now() - 5000);
    assert.equal(applied.status.currentPowerState, 'on');
    assert.equal((await call('POST', '/southbound/v1/status', agent, { powerState: 'on', configVersion: 'cccccccccccccccc' })).status, 204);
    assert.equal((await mgr.get('default', 'Host', host.id)).revision, applied.revision, 'the same report again writes nothing');

    // A new config keeps the applied version until the agent reports the new one.
    await mgr.updateStatus('default', 'Host', host.id, telemetry('dddddddddddddddd', 30));
    const pending = (await mgr.get('default', 'Host', host.id)).status.telemetry!;
    assert.deepEqual([pending.version, pending.appliedVersion], ['dddddddddddddddd', 'cccccccccccccccc']);

    const bad = await call('POST', '/southbound/v1/status', agent, { configVersion: 'x'.repeat(200) });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_argument');
    assert.equal((await call('POST', '/southbound/v1/status', agent, { configVersion: 7 })).status, 400);
  });

  test("unknown group names the agent reports become an error on the host's status.telemetry, cleared when the config has none", async () => {
    const { host, agent } = await enrolled('edge-t3');
    const mgr = srv.inventory.as(manager);
    await mgr.updateStatus('default', 'Host', host.id, telemetry('eeeeeeeeeeeeeeee', 60));
    const report = runnerReport({ metrics: [{ groups: ['gpu'], intervalSeconds: 60 }], logs: [{ groups: ['nginx'], level: 'warn' }] });
    assert.equal((await call('POST', '/southbound/v1/status', agent, { configVersion: 'eeeeeeeeeeeeeeee', telemetry: report })).status, 204);
    const bad = await mgr.get('default', 'Host', host.id);
    const t = bad.status.telemetry as { collectionStatus?: { indicator: string; message: string }; unknownGroups?: string[] };
    assert.equal(t.collectionStatus?.indicator, 'error');
    assert.equal(t.collectionStatus?.message, 'unknown groups "gpu", "nginx" (not collected)');
    assert.deepEqual(t.unknownGroups, ['gpu', 'nginx']);
    assert.equal((await call('POST', '/southbound/v1/status', agent, { configVersion: 'eeeeeeeeeeeeeeee', telemetry: report })).status, 204);
    assert.equal((await mgr.get('default', 'Host', host.id)).revision, bad.revision, 'the same report again writes nothing');

    const good = runnerReport({ metrics: [{ groups: ['cpu'], intervalSeconds: 60 }], logs: [] });
    assert.equal((await call('POST', '/southbound/v1/status', agent, { telemetry: good })).status, 204);
    const t2 = (await mgr.get('default', 'Host', host.id)).status.telemetry as typeof t;
    assert.equal(t2.collectionStatus?.indicator, 'idle');
    assert.equal(t2.unknownGroups, undefined);
  });

  test("the batches the agent's buffer dropped reach the host's status.telemetry.droppedBatches", async () => {
    const { host, agent } = await enrolled('edge-t4');
    const mgr = srv.inventory.as(manager);
    await mgr.updateStatus('default', 'Host', host.id, telemetry('ffffffffffffffff', 60));
    // Room for three 100-byte batches (64 bytes of overhead each): five in, the two oldest out.
    const buffer = new TelemetryBuffer({ maxBytes: 3 * (100 + 64) });
    for (let i = 0; i < 5; i++) buffer.add('metrics', String(i).repeat(100));
    const report = runnerReport({ metrics: [{ groups: ['cpu'], intervalSeconds: 60 }], logs: [] }, buffer);
    assert.equal(report.droppedBatches, 2);
    assert.equal((await call('POST', '/southbound/v1/status', agent, { telemetry: report })).status, 204);
    const first = await mgr.get('default', 'Host', host.id);
    assert.equal((first.status.telemetry as { droppedBatches?: number }).droppedBatches, 2);
    assert.equal((first.status.telemetry as { collectionStatus?: { indicator: string } }).collectionStatus?.indicator, 'idle', 'drops are counted, not an error');

    buffer.add('metrics', '5'.repeat(100));
    assert.equal((await call('POST', '/southbound/v1/status', agent, { telemetry: runnerReport({ metrics: [{ groups: ['cpu'], intervalSeconds: 60 }], logs: [] }, buffer) })).status, 204);
    assert.equal(((await mgr.get('default', 'Host', host.id)).status.telemetry as { droppedBatches?: number }).droppedBatches, 3);
  });
});
