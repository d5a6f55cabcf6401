import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { encodeLogs, encodeMetrics, type LogEntry, type Sample } from '../../agent/telemetry/otlp-batch.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { TelemetryService } from './telemetry-service.ts';

// The server's side of issue 15 in-process: agents push OTLP/HTTP JSON with their own token (the
// host is the token's), the northbound routes answer per project and host, the exposition passes
// promtool (when installed; CI installs it), and --otlp-forward hands batches to a collector.

const now = Date.now();
const host1Samples = (t: number, cpuIdle: number): Sample[] => [
  { name: 'system.cpu.utilization', attrs: { 'cpu.mode': 'idle' }, type: 'gauge', unit: '1', value: cpuIdle, t },
  { name: 'system.cpu.utilization', attrs: { 'cpu.mode': 'user' }, type: 'gauge', unit: '1', value: 1 - cpuIdle, t },
  { name: 'system.memory.limit', attrs: {}, type: 'gauge', unit: 'By', value: 8e9, t },
  { name: 'system.memory.linux.available', attrs: {}, type: 'gauge', unit: 'By', value: 2e9, t },
  { name: 'system.filesystem.usage', attrs: { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'used' }, type: 'gauge', unit: 'By', value: 90, t },
  { name: 'system.filesystem.usage', attrs: { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'free' }, type: 'gauge', unit: 'By', value: 10, t },
  { name: 'system.network.io', attrs: { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }, type: 'counter', unit: 'By', value: 1000 + (t - now) / 10, t },
];

describe('telemetry routes', () => {
  let srv: TestApp;
  let collector: Server;
  const forwarded: { path: string; body: any }[] = [];
  let telemetry: TelemetryService;
  const hosts: Record<string, { id: string; agent: string }> = {};

  before(async () => {
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        forwarded.push({ path: req.url ?? '', body: JSON.parse(body) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as { port: number }).port;
    srv = await openTestApp({
      projects: ['default', 'other'],
      southbound: { leaseCheckMs: 50 },
      telemetry: { otlpForward: `http://127.0.0.1:${port}`, rate: { perSecond: 1, burst: 40 }, limits: { bodyBytes: 64 * 1024 } },
    });
    telemetry = srv.telemetry!;
    for (const [name, project] of [['edge-a', 'default'], ['edge-b', 'default'], ['edge-x', 'other']] as const) {
      const site = project === 'default' && name === 'edge-a' ? await srv.call('POST', `/v1/projects/${project}/sites`, srv.admin, { name: 'berlin', spec: { regionId: (await srv.call('POST', `/v1/projects/${project}/regions`, srv.admin, { name: 'eu', spec: {} })).json.id } }) : undefined;
      const host = (await srv.call('POST', `/v1/projects/${project}/hosts`, srv.admin, { name, labels: { line: '3' }, spec: { serialNumber: `SN-${name}`, desiredState: 'onboarded', ...(site ? { siteId: site.json.id } : {}) } })).json;
      const et = (await srv.call('POST', `/v1/projects/${project}/tokens`, srv.admin, { role: 'enrollment' })).json.token;
      const agent = (await srv.call('POST', '/southbound/v1/enroll', et, { serialNumber: `SN-${name}`, hostname: name })).json.token;
      hosts[name] = { id: host.id, agent };
    }
    // status.telemetry as the telemetry manager would write it, so lastSampleAt has a place.
    const mgr = srv.inventory.as({ subject: 'telemetry-manager', grants: [{ project: '*', role: 'manager' }] });
    await mgr.updateStatus('default', 'Host', hosts['edge-a'].id, { telemetry: { version: 'aaaaaaaaaaaaaaaa', config: { metrics: [], logs: [] }, sources: [] } });
  });
  after(async () => {
    await srv.close();
    collector.close();
  });

  const push = (name: string, path: 'metrics' | 'logs', payload: Uint8Array | string, headers: Record<string, string> = {}) =>
    srv.app.inject({ method: 'POST', url: `/southbound/v1/otlp/v1/${path}`, headers: { authorization: `Bearer ${hosts[name].agent}`, 'content-type': 'application/json', ...headers }, payload: typeof payload === 'string' ? payload : Buffer.from(payload) });

  test('an agent pushes metrics with its own token; the host is the token’s, whatever the payload says; a repeated batch is stored once', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await push('edge-a', 'metrics', encodeMetrics(host1Samples(now - (6 - i) * 10_000, 0.75), { 'host.id': hosts['edge-b'].id, 'host.name': 'edge-b', 'eim.project': 'other', 'service.name': 'eim-agent' }), { 'x-eim-batch': `s1.${i}` });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), {});
    }
    assert.equal((await push('edge-a', 'metrics', encodeMetrics(host1Samples(now - 10_000, 0.1), {}), { 'x-eim-batch': 's1.5' })).statusCode, 200, 'a repeat is acknowledged…');
    const m = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/metrics?from=2m&step=10`, srv.admin);
    assert.equal(m.status, 200, JSON.stringify(m.json));
    const cpu = m.json.series.find((s: any) => s.name === 'cpu_used_percent');
    assert.deepEqual(cpu.points.map((p: any) => p.value), [25, 25, 25, 25, 25, 25], '…and not stored: cpu stays 25 %');
    assert.equal(m.json.series.find((s: any) => s.name === 'memory_used_percent').points[0].value, 75);
    assert.equal(m.json.series.find((s: any) => s.name === 'disk_used_percent').points[0].value, 90);
    const net = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/metrics?names=system.network.io&from=2m&step=20`, srv.admin);
    assert.ok(net.json.series[0].points.every((p: any) => p.value === 100), JSON.stringify(net.json.series[0].points));
    const b = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-b'].id}/metrics?from=2m`, srv.admin);
    assert.deepEqual(b.json.series, [], "edge-b's id in the payload did not make the samples edge-b's");
    const host = (await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}`, srv.admin)).json;
    assert.equal(Date.parse(host.status.telemetry.lastSampleAt), now - 60_000, 'lastSampleAt written with the first batch (the newest sample then)');
    const rev = host.revision;
    await push('edge-a', 'metrics', encodeMetrics(host1Samples(now, 0.5), {}), { 'x-eim-batch': 's1.6' });
    assert.equal((await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}`, srv.admin)).json.revision, rev, 'not rewritten within the minute');
    // /metrics counts what was taken: 8 batches, one a repeat, the stored points.
    const text = (await srv.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('eim_telemetry_batches_total'), 8, text);
    assert.equal(value('eim_telemetry_duplicate_batches_total'), 1);
    assert.ok(value('eim_telemetry_points_total') >= 7 * host1Samples(now, 0.5).length, `points ${value('eim_telemetry_points_total')}`);
  });

  test('logs: newest first, by level, q literal; fleet logs and top-N across a filter', async () => {
    const t = now - 5000;
    const entries: LogEntry[] = [
      { t, severity: 9, body: 'started nginx', attrs: { unit: 'nginx.service' } },
      { t: t + 1, severity: 13, body: 'disk 91% full on /', attrs: {} },
      { t: t + 2, severity: 17, body: 'I/O error on sda', attrs: {} },
    ];
    assert.equal((await push('edge-a', 'logs', encodeLogs(entries, {}))).statusCode, 200);
    await push('edge-b', 'metrics', encodeMetrics(host1Samples(now, 0.1), {}));
    const logs = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/logs?level=warn`, srv.admin);
    assert.deepEqual(logs.json.items.map((l: any) => [l.level, l.body]), [['error', 'I/O error on sda'], ['warn', 'disk 91% full on /']]);
    const q = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/logs?q=${encodeURIComponent('91%')}&limit=1`, srv.admin);
    assert.deepEqual(q.json.items.map((l: any) => l.body), ['disk 91% full on /']);
    const page = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/logs?limit=2`, srv.admin);
    const page2 = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/logs?limit=2&pageToken=${page.json.nextPageToken}`, srv.admin);
    assert.deepEqual([...page.json.items, ...page2.json.items].map((l: any) => l.body), ['I/O error on sda', 'disk 91% full on /', 'started nginx']);
    const fleet = await srv.call('GET', `/v1/projects/default/hosts:logs?filter=${encodeURIComponent('labels.line = "3"')}&level=error`, srv.admin);
    assert.deepEqual(fleet.json.items.map((l: any) => l.hostId), [hosts['edge-a'].id]);
    const top = await srv.call('GET', '/v1/projects/default/hosts:top?sort=cpu', srv.admin);
    assert.equal(top.status, 200, JSON.stringify(top.json));
    assert.deepEqual(top.json.items.map((h: any) => [h.name, h.cpu_used_percent]), [['edge-b', 90], ['edge-a', 50]]);
    const topOther = await srv.call('GET', '/v1/projects/other/hosts:top?sort=disk', srv.admin);
    assert.deepEqual(topOther.json.items, [], 'the other project sees none of it');
  });

  test('logs after a cursor: only lines stored later, in the order stored, also one with an older time', async () => {
    const logsOf = (q: string) => srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-b'].id}/logs?${q}`, srv.admin);
    const end = await logsOf('afterId=end');
    assert.equal(end.status, 200, JSON.stringify(end.json));
    assert.deepEqual(end.json.items, []);
    assert.match(end.json.cursor, /^\d+$/);
    await push('edge-b', 'logs', encodeLogs([{ t: now - 1000, severity: 13, body: 'fresh', attrs: {} }], {}));
    await push('edge-b', 'logs', encodeLogs([{ t: now - 3_600_000, severity: 9, body: 'late from the buffer', attrs: {} }, { t: now - 3_500_000, severity: 17, body: 'late error', attrs: {} }], {}));
    await push('edge-a', 'logs', encodeLogs([{ t: now, severity: 9, body: 'another host', attrs: {} }], {}));
    const after = await logsOf(`afterId=${end.json.cursor}&limit=2`);
    assert.deepEqual(after.json.items.map((l: any) => l.body), ['fresh', 'late from the buffer']);
    assert.equal(after.json.cursor, after.json.items[1].id);
    const rest = await logsOf(`afterId=${after.json.cursor}`);
    assert.deepEqual(rest.json.items.map((l: any) => l.body), ['late error']);
    const none = await logsOf(`afterId=${rest.json.cursor}`);
    assert.deepEqual([none.json.items, none.json.cursor], [[], rest.json.cursor], 'nothing new: the cursor stays');
    assert.deepEqual((await logsOf(`afterId=${end.json.cursor}&level=warn`)).json.items.map((l: any) => l.body), ['fresh', 'late error'], 'filters apply');
    // Lines a filter leaves out still move the cursor: the next question does not read them again.
    await push('edge-b', 'logs', encodeLogs([{ t: now, severity: 9, body: 'only info', attrs: {} }], {}));
    const filtered = await logsOf(`afterId=${rest.json.cursor}&level=error`);
    assert.deepEqual(filtered.json.items, []);
    assert.ok(Number(filtered.json.cursor) > Number(rest.json.cursor), `the cursor moved past the info line (${rest.json.cursor} → ${filtered.json.cursor})`);
    assert.deepEqual((await logsOf(`afterId=${filtered.json.cursor}`)).json.items, [], 'and nothing is read again');
  });

  test('cross-project and cross-host access is refused; garbage answers 4xx', async () => {
    const viewerOther = (await srv.call('POST', '/v1/projects/other/tokens', srv.admin, { role: 'viewer' })).json.token;
    for (const path of [`/v1/projects/other/hosts/${hosts['edge-a'].id}/metrics`, `/v1/projects/other/hosts/${hosts['edge-a'].id}/logs`]) {
      assert.equal((await srv.call('GET', path, viewerOther)).status, 404, path);
    }
    assert.equal((await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/metrics`, viewerOther)).status, 404, 'a project the token has no role in is as if absent');
    assert.equal((await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/logs`, hosts['edge-b'].agent)).status, 403, 'an agent token reads nothing northbound');
    assert.equal((await srv.call('GET', '/v1/projects/default/metrics:prometheus', viewerOther)).status, 404);
    assert.equal((await srv.call('GET', '/v1/projects/default/hosts:top', viewerOther)).status, 404);
    for (const bad of ['from=yesterday', 'step=0', 'from=30d&step=1', 'names=a%20b', 'to=1h&from=1m']) {
      const r = await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/metrics?${bad}`, srv.admin);
      assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.json)}`);
    }
    for (const bad of ['level=loud', 'limit=0', 'limit=5000', 'pageToken=x', 'since=nope', 'afterId=-1', 'afterId=start', 'afterId=3&pageToken=1.2']) {
      assert.equal((await srv.call('GET', `/v1/projects/default/hosts/${hosts['edge-a'].id}/logs?${bad}`, srv.admin)).status, 400, bad);
    }
    assert.equal((await srv.call('GET', '/v1/projects/default/hosts:top?sort=gpu', srv.admin)).status, 400);
    assert.equal((await push('edge-a', 'metrics', '{"resourceMetrics": 7}')).statusCode, 400);
    assert.equal((await push('edge-a', 'metrics', '[1,2]')).statusCode, 400);
    assert.equal((await push('edge-a', 'metrics', 'not json')).statusCode, 400);
    assert.equal((await push('edge-a', 'metrics', '{}', { 'x-eim-batch': 'a b.1' })).statusCode, 400);
    const proto = await srv.app.inject({ method: 'POST', url: '/southbound/v1/otlp/v1/metrics', headers: { authorization: `Bearer ${hosts['edge-a'].agent}`, 'content-type': 'application/x-protobuf' }, payload: Buffer.from([1, 2, 3]) });
    assert.equal(proto.statusCode, 400);
    const big = await push('edge-a', 'logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(70 * 1024) } }] }] }] }));
    assert.equal(big.statusCode, 413);
    const noToken = await srv.app.inject({ method: 'POST', url: '/southbound/v1/otlp/v1/metrics', headers: { 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(noToken.statusCode, 401);
    assert.equal((await srv.app.inject({ method: 'POST', url: '/southbound/v1/otlp/v1/metrics', headers: { authorization: `Bearer ${srv.admin}`, 'content-type': 'application/json' }, payload: '{}' })).statusCode, 403);
    // Too many points in one batch: refused whole.
    const many = encodeMetrics(Array.from({ length: 10_001 }, (_, i) => ({ name: 'x', attrs: {}, type: 'gauge' as const, unit: '1', value: i, t: now })), {});
    assert.equal((await push('edge-a', 'metrics', many)).statusCode, 413, 'over the 64 KiB body limit of this test');
  });

  test('the per-host bucket answers 429 with Retry-After', async () => {
    let limited: { statusCode: number; headers: Record<string, unknown> } | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await push('edge-b', 'logs', encodeLogs([{ t: now, severity: 9, body: `n${i}`, attrs: {} }], {}));
      if (r.statusCode === 429) limited = r;
    }
    assert.ok(limited, 'rate limited within 60 batches (burst 40)');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });

  test('the Prometheus exposition labels each host and passes promtool check metrics (when installed)', async () => {
    const r = await srv.inject('GET', '/v1/projects/default/metrics:prometheus', srv.admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = r.body;
    assert.match(text, /# TYPE eim_cpu_used_ratio gauge/);
    assert.match(text, /eim_cpu_used_ratio\{project="default",host="edge-a",host_id="host-[0-9a-f]{8}",site="berlin",region="eu",label_line="3"\} 0\.5 \d+/);
    assert.match(text, /# TYPE system_network_io_bytes_total counter/);
    assert.match(text, /system_network_io_bytes_total\{[^}]*host="edge-a"[^}]*network_interface_name="eth0",network_io_direction="receive"\}/);
    assert.doesNotMatch(text, /edge-x/, 'another project’s host is not in it');
    const which = spawnSync('promtool', ['--version']);
    if (which.error) {
      if (process.env.CI) assert.fail('promtool is not installed in CI (.ci/run installs Debian’s prometheus package)');
      process.stderr.write('\n*** promtool not installed: the exposition was NOT checked with promtool check metrics (apt-get install prometheus) ***\n\n');
      return;
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
  });

  test('--otlp-forward hands the batches to a collector with the host from the token', async () => {
    await telemetry.forwarder!.idle();
    const m = forwarded.find((f) => f.path === '/v1/metrics');
    assert.ok(m, 'metrics forwarded');
    const attrs = m.body.resourceMetrics[0].resource.attributes as { key: string; value: { stringValue: string } }[];
    assert.equal(attrs.find((a) => a.key === 'eim.host.id')?.value.stringValue, hosts['edge-a'].id);
    // The first batches said host.id = edge-b's id, host.name = edge-b, eim.project = other.
    const resources = forwarded.filter((f) => f.path === '/v1/metrics').map((f) => Object.fromEntries(f.body.resourceMetrics[0].resource.attributes.map((a: { key: string; value: { stringValue: string } }) => [a.key, a.value.stringValue])));
    assert.ok(resources.length >= 6);
    for (const r of resources.slice(0, 6)) {
      assert.deepEqual(r, { 'service.name': 'eim-agent', 'eim.project': 'default', 'eim.host.id': hosts['edge-a'].id, 'host.id': hosts['edge-a'].id }, 'the host is the token’s; the payload’s host.* and eim.* are dropped, other attributes kept');
    }
    assert.ok(forwarded.some((f) => f.path === '/v1/logs'));
    assert.equal(telemetry.forwarder!.stats.dropped, 0);
  });
});
