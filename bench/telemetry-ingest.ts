// The telemetry ingest benchmark (issue 15). Two parts, each against a same-run baseline of plain
// status writes:
//   1. The store path, in this process on a fresh store (SQLite by default, --pg for PostgreSQL at
//      EIM_TEST_PG_URL): agents' OTLP/HTTP JSON batches decoded and stored as the southbound route
//      does, for fleet A (--hosts, default 10,000, × 20 series every 60 s) and fleet B (--fast-hosts,
//      default 1,000, × 20 series every 10 s), --minutes (default 10) of samples each, as fast as
//      they go; then one host's day queried and top-10 by CPU over the fleet.
//   2. Over HTTP, at the real rate: a server in a child process (SQLite, managers in-process),
//      --http-hosts (default 1,000) enrolled agents each POSTing a batch every 10 s for
//      --http-seconds (default 75); server CPU per 1,000 points and lastSampleAt writes.
// Writes its BENCHMARKS.md section for a run with the defaults (--md / --no-md to choose).
// Quick: --hosts 2000 --fast-hosts 200 --minutes 3 --http-hosts 200 --http-seconds 30 --no-md.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryService } from '../src/inventory/index.ts';
import { headlineMetrics } from '../src/server/telemetry/headline-metrics.ts';
import { compileMetricsQuery, hostMetrics } from '../src/server/telemetry/metrics-query.ts';
import { decodeOtlpMetrics } from '../src/server/telemetry/otlp-decode.ts';
import { maintainTelemetry, openPostgresStore, openSqliteStore, telemetryUsage } from '../src/store/index.ts';
import type { KyselyStore } from '../src/store/kysely-store.ts';
import { createTestDatabase } from '../src/testing/test-stores.ts';
import { parseBenchArgs } from './lib/bench-args.ts';
import { type ProgramResult, runBenchProgram } from './lib/bench-program.ts';
import type { ResultRow } from './lib/result-row.ts';
import { httpIngest, metricsBatch } from './lib/telemetry-ingest-http.ts';

const USAGE = `usage: npm run bench:telemetry-ingest -- [options]
  --hosts <n>          fleet A: hosts × 20 series every 60 s (default 10000)
  --fast-hosts <n>     fleet B: hosts × 20 series every 10 s (default 1000)
  --minutes <n>        minutes of samples for A and B (default 10)
  --pg                 the store path on PostgreSQL (EIM_TEST_PG_URL) instead of SQLite
  --http-hosts <n>     agents pushing over HTTP at the real rate, every 10 s (default 1000)
  --http-seconds <n>   how long they push (default 75: lastSampleAt is written once a minute)
  --md / --no-md       write BENCHMARKS.md (default: only for a run with the defaults)`;
const args = parseBenchArgs('bench:telemetry-ingest', USAGE, process.argv.slice(2), {
  hosts: { type: 'string' },
  'fast-hosts': { type: 'string' },
  minutes: { type: 'string' },
  pg: { type: 'boolean' },
  'http-hosts': { type: 'string' },
  'http-seconds': { type: 'string' },
});
const values = args.values;
const HOSTS = args.flags.whole(values.hosts, 10_000, '--hosts');
const FAST = args.flags.whole(values['fast-hosts'], 1000, '--fast-hosts');
const MINUTES = args.flags.whole(values.minutes, 10, '--minutes');
const HTTP_HOSTS = args.flags.whole(values['http-hosts'], 1000, '--http-hosts');
const HTTP_SECONDS = args.flags.whole(values['http-seconds'], 75, '--http-seconds');
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

const batch = metricsBatch;

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

async function measure(): Promise<ResultRow[]> {
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

  const per1000 = (ms: number, n: number) => (ms / n) * 1000;
  const dialect = values.pg ? 'postgres' : 'sqlite';
  const rows: ResultRow[] = [
    { metric: `store path, fleet A (${HOSTS.toLocaleString('en-US')} hosts × 20 series / 60 s, ${MINUTES} min): CPU per 1,000 points`, dialect, value: per1000(a.cpuMs, a.samples), unit: 'ms', baseline: { value: per1000(baseline.cpuMs, baseline.writes), label: 'per 1,000 status writes in-process' }, notes: `${a.samples.toLocaleString('en-US')} points (20 series + 3 derived per batch) in ${(a.wallMs / 1000).toFixed(1)} s: ${Math.round(a.samples / (a.wallMs / 1000)).toLocaleString('en-US')} points/s, ${Math.round(a.samples / 23 / (a.wallMs / 1000)).toLocaleString('en-US')} batches/s (the fleet sends ${Math.round(HOSTS / 60).toLocaleString('en-US')}/s)` },
    { metric: `store path, fleet B (${FAST.toLocaleString('en-US')} hosts × 20 series / 10 s, ${MINUTES} min): CPU per 1,000 points`, dialect, value: per1000(b.cpuMs, b.samples), unit: 'ms', baseline: { value: per1000(baseline.cpuMs, baseline.writes), label: 'per 1,000 status writes in-process' }, notes: `${b.samples.toLocaleString('en-US')} points in ${(b.wallMs / 1000).toFixed(1)} s: ${Math.round(b.samples / 23 / (b.wallMs / 1000)).toLocaleString('en-US')} batches/s (the fleet sends ${Math.round(FAST / 10).toLocaleString('en-US')}/s)` },
    ...(values.pg ? [] : [{ metric: 'store bytes per point (database file growth, A + B)', dialect, value: (a.bytes + b.bytes) / (a.samples + b.samples), unit: 'B' } as ResultRow]),
    { metric: 'store bytes per point (the budget ledger)', dialect, value: usage.samples / (a.samples + b.samples + 8640 * 23), unit: 'B' },
    { metric: "query one host's day (10 s samples, 20 series, step 5 min)", dialect, value: dayAll, unit: 'ms', target: { op: '<=', value: 50, label: '' }, notes: `median of 5; the 3 headline series at 1 min from raw samples: ${dayHeadline.toFixed(1)} ms; the first maintenance pass (rolls everything up) took ${maintainMs.toFixed(0)} ms` },
    { metric: `top-10 by CPU over ${(HOSTS + FAST + 1).toLocaleString('en-US')} hosts`, dialect, value: top, unit: 'ms', target: { op: '<=', value: 200, label: '' }, notes: 'median of 5' },
  ];
  await inventory.stop();
  await store.close();
  await pgDrop?.();
  rmSync(dir, { recursive: true, force: true });

  if (HTTP_HOSTS > 0) {
    const h = await httpIngest({ hosts: HTTP_HOSTS, everyS: 10, seconds: HTTP_SECONDS });
    rows.push(
      { metric: `over HTTP: ${h.hosts.toLocaleString('en-US')} agents × 20 series / 10 s for ${Math.round(h.seconds)} s: server CPU per 1,000 points`, dialect: 'sqlite', value: h.cpuPer1000Points, unit: 'ms', baseline: { value: h.baselineCpuPer1000Writes, label: 'per 1,000 status writes over HTTP' }, notes: `${h.batches.toLocaleString('en-US')} batches (${h.failed} failed), ${h.stored.toLocaleString('en-US')} points stored; ${h.cpuPer1000Batches.toFixed(0)} ms per 1,000 batches; server at ${h.cpuPercent.toFixed(0)} % of a core; batch answered p50 ${h.p50.toFixed(1)} / p99 ${h.p99.toFixed(1)} ms; baseline ${Math.round(h.baselineWritesPerSecond).toLocaleString('en-US')} writes/s` },
      {
      metric: 'over HTTP: hosts whose lastSampleAt was written twice within a minute (a batch every 10 s)',
      dialect: 'sqlite',
      value: h.lastSample.tooSoon,
      unit: 'hosts',
      target: { op: '<=', value: 0, label: 'at most once a minute, not per batch' },
      ...(h.lastSample.hostsWithTwo === 0 ? { unmet: 'no host was written twice: run longer than 60 s' } : {}),
      notes: `${h.lastSample.writes.toLocaleString('en-US')} writes from ${h.hosts.toLocaleString('en-US')} hosts in ${Math.round(h.seconds)} s (${(h.lastSample.writes / h.hosts / (h.seconds / 60)).toFixed(2)} per host-minute, each host's first included); ${h.lastSample.hostsWithTwo.toLocaleString('en-US')} hosts written twice, their writes committed at least ${((h.lastSample.minGapMs ?? NaN) / 1000).toFixed(3)} s apart. "Within a minute" is < 59 s between commits: the server takes a host's slot when 60 s of its clock have passed, and the commit follows by the write's latency (p99 above)`,
    },
    );
  }
  return rows;
}

await runBenchProgram({
  file: 'bench/telemetry-ingest.ts',
  section: 'Telemetry ingest (issue 15)',
  command: args.command,
  writeMarkdown: args.writeMarkdown(args.anyGivenExcept()),
  async run(): Promise<ProgramResult> {
    const rows = await measure();
    return {
      rows,
      details: [],
      setup: [
        `Store path: this process, a fresh ${values.pg ? 'PostgreSQL database' : 'SQLite store (synchronous=FULL)'}; no HTTP, no token check`,
        "Over HTTP: `startServer({ dataDir, port: 0, logLevel: 'warn', rateLimitRps: 0 })` in a child process (`bench/lib/server-child.ts`): SQLite, the resource managers in-process; the agents are this process (one keep-alive pool of 128 sockets), each with its own agent token from a real enrolment",
      ],
      how: [
        '**Points**: a batch holds 20 series (cpu per mode 8, memory 4, filesystem 3, network 4, load 1), encoded as the agent encodes them (`encodeMetrics`, OTLP/HTTP JSON); the server stores them and 3 derived headline points (cpu, memory and disk used %), 23 per batch.',
        '**Store path**: each batch goes through what the southbound route does after HTTP and the token check (JSON.parse, `decodeOtlpMetrics`, `headlineMetrics`, `TelemetryStore.ingest`), 64 in flight, as fast as they go over the minutes of sample time (not at the fleet\'s rate); CPU is this process\'s (`process.cpuUsage`). The baseline is 3,000 Inventory status writes (one field, 1,000 Hosts, all at once per round) in the same process and store, before.',
        "**Day query**: one host with a day of 10 s batches (8,640), then `maintainTelemetry` (what every server does each minute: closed buckets rolled up), then `hostMetrics` for every series of that host over 24 h at a 5-min step (rollups). **Top-10**: `TelemetryStore.topHosts` by cpu_used_percent over every host of A and B.",
        "**Over HTTP**: Hosts registered in one site, a telemetry profile on its region (so the telemetry manager computes their config and `status.telemetry.lastSampleAt` has a place), each enrolled (POST /southbound/v1/enroll) for its own token. The baseline is 3 × hosts `PATCH …/hosts/{id}/status` (one field, a manager token, 64 at a time) to the same server, before. Then agent i POSTs a batch to /southbound/v1/otlp/v1/metrics at i/hosts of every 10 s (open loop, with `x-eim-batch`); server CPU from `/proc/<pid>/stat` over the pushes, points from the server's `eim_telemetry_points_total`. lastSampleAt writes are read back from the event log (Host events whose `status.telemetry.lastSampleAt` moved).",
      ],
    };
  },
});
