// The telemetry ingest benchmark (issue 15), in one process on a fresh store (SQLite by default,
// --pg for PostgreSQL at EIM_TEST_PG_URL): agents' OTLP/HTTP JSON batches decoded and stored as the
// southbound route does (JSON parse, OTLP decode, headline metrics, TelemetryStore.ingest; the
// route's token check and HTTP parsing are left out), for two fleets:
//   A: --hosts (default 10,000) hosts × 20 series every 60 s, for --minutes (default 10) of samples;
//   B: --fast-hosts (default 1,000) hosts × 20 series every 10 s, for the same minutes;
// then a query of one host's day (a day at 10 s stored for it) and top-10 by CPU over fleet A,
// against a same-run baseline of plain status writes (Inventory.updateStatus of one field per host).
// It prints a table; it does not write BENCHMARKS.md. Quick: --hosts 2000 --fast-hosts 200 --minutes 3.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeMetrics, type Sample } from '../src/agent/telemetry/otlp-batch.ts';
import { InventoryService } from '../src/inventory/index.ts';
import { headlineMetrics } from '../src/server/telemetry/headline-metrics.ts';
import { compileMetricsQuery, hostMetrics } from '../src/server/telemetry/metrics-query.ts';
import { decodeOtlpMetrics } from '../src/server/telemetry/otlp-decode.ts';
import { maintainTelemetry, openPostgresStore, openSqliteStore, telemetryUsage } from '../src/store/index.ts';
import type { KyselyStore } from '../src/store/kysely-store.ts';
import { createTestDatabase } from '../src/testing/test-stores.ts';

const { values } = parseArgs({ options: { hosts: { type: 'string' }, 'fast-hosts': { type: 'string' }, minutes: { type: 'string' }, pg: { type: 'boolean' } } });
const HOSTS = Number(values.hosts ?? 10_000);
const FAST = Number(values['fast-hosts'] ?? 1000);
const MINUTES = Number(values.minutes ?? 10);
const DAY = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'eim-bench-tel-'));
let pgDrop: (() => Promise<void>) | undefined;
let store: KyselyStore;
if (values.pg) {
  const db = await createTestDatabase();
  pgDrop = db.drop;
  store = await openPostgresStore(db.url);
} else {
  store = await openSqliteStore(join(dir, 'eim.db'));
}
const now = Date.now();
const tel = store.telemetry;
const hostId = (i: number) => `host-${i.toString(16).padStart(8, '0')}`;

/** 20 series of one host at time t, as the agent encodes them (cpu 8, memory 4, disk 3, net 4, load 1). */
function batch(i: number, t: number): string {
  const busy = ((i * 7919 + t / 1000) % 97) / 100;
  const g = (name: string, value: number, unit: string, attrs: Record<string, string> = {}): Sample => ({ name, attrs, type: 'gauge', unit, value, t });
  const c = (name: string, value: number, attrs: Record<string, string>): Sample => ({ name, attrs, type: 'counter', unit: 'By', value, t });
  const samples = [
    ...['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'].map((m) => g('system.cpu.utilization', m === 'idle' ? 1 - busy : busy / 7, '1', { 'cpu.mode': m })),
    g('system.memory.limit', 8e9, 'By'),
    g('system.memory.linux.available', 4e9 - busy * 1e9, 'By'),
    g('system.memory.usage', 3e9, 'By', { 'system.memory.state': 'used' }),
    g('system.memory.usage', 1e9, 'By', { 'system.memory.state': 'free' }),
    g('system.filesystem.usage', 5e10 + i, 'By', { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'used' }),
    g('system.filesystem.usage', 5e10 - i, 'By', { 'system.filesystem.mountpoint': '/', 'system.filesystem.state': 'free' }),
    g('system.filesystem.utilization', 0.5, '1', { 'system.filesystem.mountpoint': '/' }),
    ...['receive', 'transmit'].flatMap((d) => [c('system.network.io', t / 10, { 'network.interface.name': 'eth0', 'network.io.direction': d }), c('system.network.io', t / 100, { 'network.interface.name': 'eth1', 'network.io.direction': d })]),
    g('system.cpu.load_average.1m', busy * 4, '{thread}'),
  ];
  return new TextDecoder().decode(encodeMetrics(samples, {}));
}

/** What the southbound route does with a body, minus HTTP and the token check. */
async function ingest(i: number, body: string, seq: number): Promise<number> {
  const decoded = decodeOtlpMetrics(JSON.parse(body), { notBefore: now - DAY - 3_600_000, notAfter: now + 300_000 });
  const points = [...decoded.points, ...headlineMetrics(decoded.points)];
  const r = await tel.ingest({ project: 'default', hostId: hostId(i), batch: { stream: 'bench', seq }, points, logs: [] });
  return r.stored;
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const storeBytes = (): number => {
  if (values.pg) return NaN;
  return ['eim.db', 'eim.db-wal'].reduce((s, f) => s + (statSync(join(dir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
};

/** Runs `hosts` hosts every `everyS` seconds for MINUTES of sample time, 64 batches in flight. */
async function fleet(offset: number, hosts: number, everyS: number): Promise<{ samples: number; cpuMs: number; wallMs: number; bytes: number }> {
  const ticks = Math.floor((MINUTES * 60) / everyS);
  const bytes0 = storeBytes();
  const c0 = cpu();
  const w0 = performance.now();
  let samples = 0;
  for (let k = 0; k < ticks; k++) {
    const t = now - (ticks - k) * everyS * 1000;
    for (let i = 0; i < hosts; i += 64) {
      const stored = await Promise.all(Array.from({ length: Math.min(64, hosts - i) }, (_, j) => ingest(offset + i + j, batch(offset + i + j, t), k + 1)));
      samples += stored.reduce((a, b) => a + b, 0);
    }
  }
  return { samples, cpuMs: cpu() - c0, wallMs: performance.now() - w0, bytes: storeBytes() - bytes0 };
}

// Baseline: plain status writes of the same hosts (one field each), through the Inventory.
const inventory = new InventoryService(store);
await inventory.start();
await inventory.ensureProject('default');
const mgr = inventory.as({ subject: 'bench', grants: [{ project: '*', role: 'manager' }] });
const baseIds: string[] = [];
for (let i = 0; i < 1000; i++) baseIds.push((await mgr.create('default', 'Host', { name: `b-${i}`, spec: { desiredState: 'onboarded' } } as never)).id);
const b0 = cpu();
const bw = performance.now();
for (let r = 0; r < 3; r++) await Promise.all(baseIds.map((id, i) => mgr.updateStatus('default', 'Host', id, { lastSeenAt: new Date(now + r * 1000 + i).toISOString() })));
const baseline = { writes: 3000, cpuMs: cpu() - b0, wallMs: performance.now() - bw };

const a = await fleet(0, HOSTS, 60);
const b = await fleet(HOSTS, FAST, 10);

// One host with a full day at 10 s, then its day queried (every series, step 5 min; and the headline at 1 min).
const dayHost = HOSTS + FAST;
for (let k = 0; k < 8640; k += 64) {
  await Promise.all(Array.from({ length: Math.min(64, 8640 - k) }, (_, j) => ingest(dayHost, batch(dayHost, now - DAY + (k + j) * 10_000), k + j + 1)));
}
// What every server does each minute: closed buckets rolled up (the day's query at 5 min reads them).
const m0 = performance.now();
await maintainTelemetry(tel, { rawMs: DAY, rollupMs: 30 * DAY, logsMs: DAY, metricsBytes: 1e12, logsBytes: 1e12 });
const maintainMs = performance.now() - m0;
const names = (await tel.series(hostId(dayHost))).map((x) => x.name);
const time = async (fn: () => Promise<unknown>, runs = 5) => {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((x, y) => x - y)[Math.floor(runs / 2)];
};
const dayAll = await time(() => hostMetrics(tel, hostId(dayHost), compileMetricsQuery({ names: [...new Set(names)].join(','), from: '24h', step: '300' }, Date.now()), DAY));
const dayHeadline = await time(() => hostMetrics(tel, hostId(dayHost), compileMetricsQuery({ from: '24h', step: '60' }, Date.now()), DAY));
const top = await time(() => tel.topHosts({ project: 'default', metric: 'cpu_used_percent', limit: 10 }));
const usage = await telemetryUsage(tel);

const per1000 = (ms: number, n: number) => ((ms / n) * 1000).toFixed(1);
const rows: [string, string][] = [
  ['baseline: status writes (1,000 hosts × 3)', `${per1000(baseline.cpuMs, baseline.writes)} ms CPU per 1,000 writes (${(baseline.writes / (baseline.wallMs / 1000)).toFixed(0)}/s)`],
  [`A: ${HOSTS.toLocaleString('en-US')} hosts × 20 series / 60 s, ${MINUTES} min`, `${a.samples.toLocaleString('en-US')} samples; ${per1000(a.cpuMs, a.samples)} ms CPU per 1,000 samples (${per1000(a.cpuMs, a.samples / 20)} per 1,000 batches); ${(a.samples / (a.wallMs / 1000)).toFixed(0)} samples/s`],
  [`B: ${FAST.toLocaleString('en-US')} hosts × 20 series / 10 s, ${MINUTES} min`, `${b.samples.toLocaleString('en-US')} samples; ${per1000(b.cpuMs, b.samples)} ms CPU per 1,000 samples; ${(b.samples / (b.wallMs / 1000)).toFixed(0)} samples/s`],
  ['store bytes per sample (file growth, A+B)', values.pg ? 'n/a on PostgreSQL' : ((a.bytes + b.bytes) / (a.samples + b.samples)).toFixed(1)],
  ['store bytes per sample (budget ledger)', (usage.samples / (a.samples + b.samples + 8640 * 23)).toFixed(1)],
  ['query one host’s day (10 s samples, 20 series, step 5 min)', `${dayAll.toFixed(1)} ms (target ≤ 50)`],
  ['query one host’s day (3 headline series, step 1 min, raw)', `${dayHeadline.toFixed(1)} ms`],
  ['first maintenance pass (rolls up everything above)', `${maintainMs.toFixed(0)} ms`],
  [`top-10 by CPU over ${HOSTS + FAST + 1} hosts`, `${top.toFixed(1)} ms (target ≤ 200)`],
];
console.log(`\ntelemetry ingest (${values.pg ? 'PostgreSQL' : 'SQLite, synchronous=FULL'}; one process, no HTTP)\n`);
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
await inventory.stop();
await store.close();
await pgDrop?.();
rmSync(dir, { recursive: true, force: true });
