import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeLogs, encodeMetrics, type Sample } from '../agent/telemetry/otlp-batch.ts';
import { call } from '../testing/http-client.ts';
import { type CliHarness, eventually, startCliHarness } from './cli-harness.ts';

// `eim top hosts` and `eim logs host` against a real server, fed by agents' OTLP pushes.

describe('eim top and eim logs', () => {
  let h: CliHarness;
  const agents: Record<string, string> = {};
  const pushLogs = async (name: string, entries: Parameters<typeof encodeLogs>[0]) => {
    const r = await api('/southbound/v1/otlp/v1/logs', { method: 'POST', token: agents[name], body: JSON.parse(new TextDecoder().decode(encodeLogs(entries, {}))) });
    assert.equal(r.status, 200, r.body);
  };
  const api = (path: string, o: { method?: string; body?: unknown; token?: string } = {}) => call(`${h.server.url}${path}`, { token: h.server.token, ...o });

  before(async () => {
    h = await startCliHarness();
    h.login();
    const now = Date.now();
    for (const [i, name] of ['edge-01', 'edge-02'].entries()) {
      await api('/v1/projects/default/hosts', { method: 'POST', body: { name, labels: { line: String(i + 1) }, spec: { serialNumber: `SN-${name}`, desiredState: 'onboarded' } } });
      const et = (await api('/v1/projects/default/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token;
      const agent = (await api('/southbound/v1/enroll', { method: 'POST', token: et, body: { serialNumber: `SN-${name}`, hostname: name } })).json.token;
      agents[name] = agent;
      // edge-01: the least busy, the fullest memory, the emptiest disk; edge-02 the other way round.
      const [idle, memAvailable, diskUsed] = i === 0 ? [0.8, 1e9, 20] : [0.3, 6e9, 95];
      const samples: Sample[] = [
        { name: 'system.cpu.utilization', attrs: { 'cpu.mode': 'idle' }, type: 'gauge' as const, unit: '1', value: idle, t: now },
        { name: 'system.cpu.utilization', attrs: { 'cpu.mode': 'user' }, type: 'gauge' as const, unit: '1', value: 1 - idle, t: now },
        { name: 'system.memory.limit', attrs: {}, type: 'gauge' as const, unit: 'By', value: 1e10, t: now },
        { name: 'system.memory.linux.available', attrs: {}, type: 'gauge' as const, unit: 'By', value: memAvailable, t: now },
        { name: 'system.filesystem.usage', attrs: { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'used' }, type: 'gauge' as const, unit: 'By', value: diskUsed, t: now },
        { name: 'system.filesystem.usage', attrs: { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'free' }, type: 'gauge' as const, unit: 'By', value: 100 - diskUsed, t: now },
      ];
      const r = await api('/southbound/v1/otlp/v1/metrics', { method: 'POST', token: agent, body: JSON.parse(new TextDecoder().decode(encodeMetrics(samples, {}))) });
      assert.equal(r.status, 200, r.body);
      if (i === 0) {
        const logs = encodeLogs([
          { t: now - 2000, severity: 9, body: 'boot finished', attrs: { unit: 'systemd' } },
          { t: now - 1000, severity: 13, body: 'disk nearly full', attrs: { unit: 'smartd' } },
        ], {});
        assert.equal((await api('/southbound/v1/otlp/v1/logs', { method: 'POST', token: agent, body: JSON.parse(new TextDecoder().decode(logs)) })).status, 200);
      }
    }
  });
  after(() => h?.close());

  test('eim top hosts sorts by cpu and narrows by filter', async () => {
    const r = await h.eim(['top', 'hosts']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0], /NAME\s+CPU\s+MEMORY\s+DISK/);
    assert.match(rows[1], /^edge-02\s+70\.0 %/);
    assert.match(rows[2], /^edge-01\s+20\.0 %/);
    const one = await h.eim(['top', 'hosts', '--filter', 'labels.line = "1"', '-o', 'json']);
    assert.deepEqual(JSON.parse(one.stdout).items.map((x: { name: string }) => x.name), ['edge-01']);
    assert.equal((await h.eim(['top', 'hosts', '--sort', 'gpu'])).code, 2);
  });

  test('eim top hosts --sort memory and --sort disk put the fullest first', async () => {
    const memory = await h.eim(['top', 'hosts', '--sort', 'memory']);
    assert.equal(memory.code, 0, memory.stderr);
    const m = memory.stdout.trim().split('\n');
    assert.match(m[1], /^edge-01\s+20\.0 %\s+90\.0 %\s+20\.0 %/);
    assert.match(m[2], /^edge-02\s+70\.0 %\s+40\.0 %\s+95\.0 %/);
    const disk = await h.eim(['top', 'hosts', '--sort', 'disk', '-o', 'json']);
    assert.equal(disk.code, 0, disk.stderr);
    assert.deepEqual(JSON.parse(disk.stdout).items.map((x: { name: string; disk_used_percent: number }) => [x.name, x.disk_used_percent]), [['edge-02', 95], ['edge-01', 20]]);
    const one = await h.eim(['top', 'hosts', '--sort', 'disk', '-n', '1']);
    assert.equal(one.stdout.trim().split('\n').length, 2, 'the header and the fullest host');
    assert.match(one.stdout, /edge-02/);
  });

  test('eim logs host --follow prints lines stored later, also a late one whose time is older than those printed', async () => {
    const f = h.spawnEim(['logs', 'host', 'edge-02', '--follow']);
    try {
      const now = Date.now();
      await pushLogs('edge-02', [{ t: now - 60_000, severity: 9, body: 'before follow', attrs: {} }]);
      await eventually(() => f.output().includes('before follow'), 'the line stored before (first page or first poll)');
      await pushLogs('edge-02', [{ t: Date.now(), severity: 13, body: 'appended later', attrs: { unit: 'nginx' } }]);
      await eventually(() => f.output().includes('WARN  nginx: appended later'), 'the line appended later');
      // From an agent's buffer: older than every line printed so far, and than --since (1h).
      await pushLogs('edge-02', [
        { t: now - 10 * 60_000, severity: 17, body: 'late, ten minutes old', attrs: {} },
        { t: now - 3 * 3_600_000, severity: 9, body: 'late, three hours old', attrs: {} },
      ]);
      await eventually(() => f.output().includes('late, three hours old'), 'the late lines');
      const out = f.output();
      assert.ok(out.indexOf('appended later') < out.indexOf('late, ten minutes old') && out.indexOf('late, ten minutes old') < out.indexOf('late, three hours old'), out);
      assert.match(out, new RegExp(`${new Date(now - 10 * 60_000).toISOString().replace(/\./g, '\\.')} ERROR late, ten minutes old`));
      for (const body of ['before follow', 'appended later', 'late, ten minutes old']) assert.equal(out.split(body).length - 1, 1, `${body} printed once: ${out}`);
    } finally {
      await f.stop();
    }
  });

  test('eim logs host prints oldest first, by level', async () => {
    const all = await h.eim(['logs', 'host', 'edge-01']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /INFO  systemd: boot finished\n.*WARN  smartd: disk nearly full\n$/);
    const warn = await h.eim(['logs', 'host', 'edge-01', '--level', 'warn']);
    assert.doesNotMatch(warn.stdout, /boot finished/);
    const missing = await h.eim(['logs', 'host', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no host with id or name "nope"/);
  });
});
