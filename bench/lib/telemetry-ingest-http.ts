import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMetrics, type Sample } from '../../src/agent/telemetry/otlp-batch.ts';
import { deferCleanup } from './cleanup.ts';
import { getText, HttpClient } from './http-client.ts';
import { distribution } from './percentiles.ts';
import { counterValue } from './prom-histogram.ts';
import { inParallel } from './in-parallel.ts';
import { cpuSecondsOf } from './proc-stats.ts';
import { ServerProcess } from './server-process.ts';

/**
 * 20 series of host `i` at time `t` as the agent encodes them (cpu 8, memory 4, disk 3, net 4,
 * load 1): an OTLP/HTTP JSON body.
 */
export function metricsBatch(i: number, t: number): string {
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

export interface HttpIngestResult {
  hosts: number;
  seconds: number;
  batches: number;
  /** Points the server says it stored (its eim_telemetry_points_total), the derived headline points included. */
  stored: number;
  failed: number;
  /** Server CPU ms per 1,000 stored points while the agents pushed. */
  cpuPer1000Points: number;
  /** Server CPU ms per 1,000 batches. */
  cpuPer1000Batches: number;
  /** Baseline: server CPU ms per 1,000 plain status writes over HTTP (PATCH …/status, one field). */
  baselineCpuPer1000Writes: number;
  baselineWritesPerSecond: number;
  /** Server CPU in % of one core while pushing. */
  cpuPercent: number;
  /** status.telemetry.lastSampleAt: writes seen, hosts with two or more, the shortest gap between two writes of one host, and the hosts with two writes less than 59 s apart. */
  lastSample: { writes: number; hostsWithTwo: number; minGapMs: number | undefined; tooSoon: number };
  /** Batch answer times (ms). */
  p50: number;
  p99: number;
}

const PROJECT = '/v1/projects/default';

/**
 * Real agents' traffic against a real server (a child process, SQLite, managers in-process): `hosts`
 * Hosts registered in one site, a telemetry profile on its region (so the telemetry manager computes
 * their config and lastSampleAt has a place), each host enrolled for its own agent token; then each
 * agent POSTs one OTLP/HTTP JSON batch of 20 series every `everyS` seconds for `seconds`, spread
 * evenly (open loop), to /southbound/v1/otlp/v1/metrics. The baseline, before, is the same server
 * taking `hosts` × 3 plain status writes over HTTP (a manager token, 64 at a time).
 */
export async function httpIngest(o: { hosts: number; everyS: number; seconds: number }): Promise<HttpIngestResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'eim-bench-tel-http-'));
  deferCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await ServerProcess.spawn({ dataDir, label: 'telemetry-http', server: { rateLimitRps: 0 } });
  deferCleanup(() => server.stop());
  const admin = new HttpClient(server.url, server.token, 64);
  const region = (await admin.json<{ id: string }>('POST', `${PROJECT}/regions`, { name: 'bench', spec: {} }, 201)).id;
  const site = (await admin.json<{ id: string }>('POST', `${PROJECT}/sites`, { name: 'bench-site', spec: { regionId: region } }, 201)).id;
  const group = (await admin.json<{ id: string }>('POST', `${PROJECT}/telemetry-groups`, { name: 'node', spec: { type: 'metrics', collector: 'host', groups: ['cpu', 'memory', 'disk', 'net', 'load'] } }, 201)).id;
  await admin.json('POST', `${PROJECT}/telemetry-profiles`, { name: 'bench', spec: { target: { regionId: region }, groupId: group, metricsIntervalSeconds: o.everyS } }, 201);
  const ids: string[] = new Array(o.hosts);
  await inParallel(o.hosts, 64, async (i) => {
    ids[i] = (await admin.json<{ id: string }>('POST', `${PROJECT}/hosts`, { name: `tel-${i}`, spec: { serialNumber: `SN-TEL-${i}`, desiredState: 'onboarded', siteId: site } }, 201)).id;
  });
  const enrollment = (await admin.json<{ token: string }>('POST', `${PROJECT}/tokens`, { role: 'enrollment', ttlSeconds: 3600 }, 201)).token;
  const enrol = new HttpClient(server.url, enrollment, 64);
  const agentTokens: string[] = new Array(o.hosts);
  await inParallel(o.hosts, 32, async (i) => {
    agentTokens[i] = (await enrol.json<{ token: string }>('POST', '/southbound/v1/enroll', { serialNumber: `SN-TEL-${i}`, hostname: `tel-${i}` }, 200)).token;
  });
  enrol.close();
  // The telemetry manager has computed every host's config (status.telemetry): lastSampleAt has a place.
  for (const t0 = Date.now(); (await countHostsWithTelemetry(admin)) < o.hosts; ) {
    if (Date.now() - t0 > 60_000) throw new Error('the telemetry manager did not compute every host config within 60 s');
    await new Promise((r) => setTimeout(r, 500));
  }

  // Baseline: plain status writes over HTTP, as a manager writes them.
  const managerToken = (await admin.json<{ token: string }>('POST', `${PROJECT}/tokens`, { role: 'manager', ttlSeconds: 3600 }, 201)).token;
  const manager = new HttpClient(server.url, managerToken, 64);
  const b0 = cpuSecondsOf(server.pid);
  const bw = performance.now();
  await inParallel(o.hosts * 3, 64, async (k) => {
    await manager.json('PATCH', `${PROJECT}/hosts/${ids[k % o.hosts]}/status`, { lastSeenAt: new Date(Date.now() - 1000 + k).toISOString() }, 200);
  });
  const baselineSeconds = (performance.now() - bw) / 1000;
  const baselineCpuPer1000Writes = ((cpuSecondsOf(server.pid) - b0) * 1e6) / (o.hosts * 3);
  manager.close();

  // The agents push, open loop: host i sends at i/hosts of each interval.
  const { revision: since } = await admin.json<{ revision: number }>('GET', `${PROJECT}/hosts?pageSize=1`, undefined, 200);
  const storedBefore = await pointsStored(server.url);
  const pool = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const url = new URL(server.url);
  const times: number[] = [];
  let batches = 0;
  let failed = 0;
  const rounds = Math.floor(o.seconds / o.everyS);
  const c0 = cpuSecondsOf(server.pid);
  const w0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < o.hosts; i++) {
      const at = w0 + (round * o.everyS * 1000) + (i * o.everyS * 1000) / o.hosts;
      const wait = at - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const body = metricsBatch(i, Date.now());
      const sent = performance.now();
      pending.push(
        post(pool, url, '/southbound/v1/otlp/v1/metrics', agentTokens[i], body, { 'x-eim-batch': `bench.${round + 1}` }).then(
          (status) => {
            times.push(performance.now() - sent);
            if (status === 200) batches++;
            else failed++;
          },
          () => void failed++,
        ),
      );
    }
  }
  await Promise.all(pending);
  const seconds = (performance.now() - w0) / 1000;
  const cpuMs = (cpuSecondsOf(server.pid) - c0) * 1000;
  pool.destroy();
  const stored = (await pointsStored(server.url)) - storedBefore;
  const lastSample = await lastSampleWrites(admin, since);
  admin.close();
  const answered = distribution(times);
  return {
    hosts: o.hosts,
    seconds,
    batches,
    stored,
    failed,
    cpuPer1000Points: (cpuMs / stored) * 1000,
    cpuPer1000Batches: (cpuMs / batches) * 1000,
    baselineCpuPer1000Writes,
    baselineWritesPerSecond: (o.hosts * 3) / baselineSeconds,
    cpuPercent: (cpuMs / 1000 / seconds) * 100,
    lastSample,
    p50: answered.p50,
    p99: answered.p99,
  };
}

async function countHostsWithTelemetry(admin: HttpClient): Promise<number> {
  let n = 0;
  let pageToken = '';
  for (;;) {
    const page = await admin.json<{ items: { status: { telemetry?: { version?: string } } }[]; nextPageToken?: string }>('GET', `${PROJECT}/hosts?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`, undefined, 200);
    n += page.items.filter((h) => h.status.telemetry?.version).length;
    if (!page.nextPageToken) return n;
    pageToken = page.nextPageToken;
  }
}

/** The server's count of stored telemetry points, from /metrics. */
async function pointsStored(server: string): Promise<number> {
  const n = counterValue(await getText(`${server}/metrics`), 'eim_telemetry_points_total');
  if (Number.isNaN(n)) throw new Error('no eim_telemetry_points_total in /metrics');
  return n;
}

/** The Host events since `since` that moved status.telemetry.lastSampleAt: their commit times, per host. */
async function lastSampleWrites(admin: HttpClient, since: number): Promise<HttpIngestResult['lastSample']> {
  const seen = new Map<string, { sample: string; at: number[] }>();
  let from = since;
  for (;;) {
    const page = await admin.json<{ events: { revision: number; id: string; type: string; at: string; object?: { status?: { telemetry?: { lastSampleAt?: string } } } }[]; revision: number }>(
      'GET',
      `${PROJECT}/events?kinds=hosts&since=${from}&limit=1000`,
      undefined,
      200,
    );
    for (const ev of page.events) {
      const sample = ev.object?.status?.telemetry?.lastSampleAt;
      if (!sample) continue;
      // When each write was committed (the event's time), for the writes that moved lastSampleAt.
      const list = seen.get(ev.id) ?? { sample: '', at: [] as number[] };
      if (list.sample !== sample) list.at.push(Date.parse(ev.at));
      list.sample = sample;
      seen.set(ev.id, list);
    }
    if (page.events.length === 0 || page.revision === from) break;
    from = page.revision;
  }
  let writes = 0;
  let hostsWithTwo = 0;
  let minGapMs: number | undefined;
  let tooSoon = 0;
  for (const { at } of seen.values()) {
    writes += at.length;
    if (at.length >= 2) hostsWithTwo++;
    let soon = false;
    for (let i = 1; i < at.length; i++) {
      minGapMs = Math.min(minGapMs ?? Infinity, at[i] - at[i - 1]);
      if (at[i] - at[i - 1] < 59_000) soon = true;
    }
    if (soon) tooSoon++;
  }
  return { writes, hostsWithTwo, minGapMs, tooSoon };
}

function post(agent: http.Agent, url: URL, path: string, token: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, hostname: url.hostname, port: url.port, method: 'POST', path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
