import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeLogs, encodeMetrics } from '../agent/telemetry/otlp-batch.ts';
import { call } from '../testing/http-client.ts';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// `eim top hosts` and `eim logs host` against a real server, fed by agents' OTLP pushes.

describe('eim top and eim logs', () => {
  let h: CliHarness;
  const api = (path: string, o: { method?: string; body?: unknown; token?: string } = {}) => call(`${h.server.url}${path}`, { token: h.server.token, ...o });

  before(async () => {
    h = await startCliHarness();
    h.login();
    const now = Date.now();
    for (const [i, name] of ['edge-01', 'edge-02'].entries()) {
      await api('/v1/projects/default/hosts', { method: 'POST', body: { name, labels: { line: String(i + 1) }, spec: { serialNumber: `SN-${name}`, desiredState: 'onboarded' } } });
      const et = (await api('/v1/projects/default/tokens', { method: 'POST', body: { role: 'enrollment' } })).json.token;
      const agent = (await api('/southbound/v1/enroll', { method: 'POST', token: et, body: { serialNumber: `SN-${name}`, hostname: name } })).json.token;
      const idle = i === 0 ? 0.8 : 0.3;
      const samples = [
        { name: 'system.cpu.utilization', attrs: { 'cpu.mode': 'idle' }, type: 'gauge' as const, unit: '1', value: idle, t: now },
        { name: 'system.cpu.utilization', attrs: { 'cpu.mode': 'user' }, type: 'gauge' as const, unit: '1', value: 1 - idle, t: now },
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
