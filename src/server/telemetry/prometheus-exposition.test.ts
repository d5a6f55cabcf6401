import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { HostLatest, SeriesMeta } from '../../store/index.ts';
import { prometheusExposition, type ExposedHost } from './prometheus-exposition.ts';

// Keys that sanitise to one Prometheus label name must not give a line the same label twice
// (promtool check metrics fails and Prometheus rejects the whole scrape).

const t = Date.now();
const host: ExposedHost = { id: 'host-0000000a', name: 'edge-a', project: 'default', site: 'berlin', region: 'eu', labels: { 'a_b': 'under', 'a.b': 'dot', 'a-b': 'dash', zone: 'z1' } };
const series = new Map<number, SeriesMeta & { hostId: string }>([
  [1, { id: 1, hostId: host.id, name: 'system.disk.io', type: 'counter', unit: 'By', attrs: { 'system.device': 'sda', 'system_device': 'sdb', host: 'h', 'host.x': 'x' } }],
]);
const latest: HostLatest[] = [{ hostId: host.id, project: 'default', lastT: t, latest: new Map([[1, [t, 42]]]), headline: {} }];

function text(): string {
  return [...prometheusExposition(new Map([[host.id, host]]), latest, series, t - 600_000)].join('');
}

function labelNames(line: string): string[] {
  const inner = /\{(.*)\}/.exec(line)![1];
  return [...inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((m) => m[1]);
}

test('labels and attributes that sanitise to one name become one label, values joined in sorted key order', () => {
  const lines = text().split('\n').filter((l) => l.startsWith('system_disk_io_bytes_total{'));
  assert.equal(lines.length, 1);
  const names = labelNames(lines[0]);
  assert.deepEqual(names, [...new Set(names)], `a label name appears twice: ${lines[0]}`);
  // Sorted keys: 'a-b' < 'a.b' < 'a_b'. 'host' is reserved (→ attr_host); 'host.x' → host_x is free.
  assert.match(lines[0], /label_a_b="dash;dot;under"/);
  assert.match(lines[0], /label_zone="z1"/);
  assert.match(lines[0], /system_device="sda;sdb"/);
  assert.match(lines[0], /attr_host="h"/);
  assert.match(lines[0], /host_x="x"/);
  assert.match(lines[0], /host="edge-a"/);
});

test('the same attributes in another order give the same line', () => {
  const before = text();
  host.labels = Object.fromEntries(Object.entries(host.labels).reverse());
  const s = series.get(1)!;
  s.attrs = Object.fromEntries(Object.entries(s.attrs).reverse());
  assert.equal(text(), before);
});

test('the exposition with clashing keys passes promtool check metrics (when installed)', (ctx) => {
  const which = spawnSync('promtool', ['--version']);
  if (which.error) {
    if (process.env.CI) assert.fail('promtool is not installed in CI (.ci/run installs Debian’s prometheus package)');
    ctx.skip('promtool not installed (apt-get install prometheus)');
    return;
  }
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text(), encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
});
