import { randomUUID } from 'node:crypto';
import { monoMs, sleep } from './clock.ts';
import { defaultMaxConnections, openFileLimits } from '../../src/server/listener-options.ts';
import { simIdentity } from '../../src/sim/fleet-simulator.ts';
import { agentTokenCensus } from './agent-token-census.ts';
import { countMatching, enrollmentToken, type FleetServerOptions, fleetServer, registerHosts } from './fleet-setup.ts';
import { HeartbeatProbe } from './heartbeat-probe.ts';
import { getText, HttpClient } from './http-client.ts';
import { distribution } from './percentiles.ts';
import { cpuSecondsOf, memoryOf } from './proc-stats.ts';
import { bucketsBetween, counterValue, histogramBuckets, quantileOf } from './prom-histogram.ts';
import { ResourceWatch } from './resource-watch.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { pct } from './row-notes.ts';
import { SimProcess } from './sim-process.ts';
import { describeSqlStats } from './sql-stats.ts';

const HEARTBEAT_ROUTE = '/southbound/v1/heartbeat';
const P99_TARGET_MS = 50;
const RSS_TARGET_MB = 1024;
const SIM_RSS_TARGET_MB = 1536;
/** Issue 10: 10,000 nodes started at 1,000/s all enrolled and running within this. */
const RAMP_TARGET_S = 30;
const NO_CONNECTION = 'no connection';
const SEED = 'hb';

export interface HeartbeatRunOptions extends FleetServerOptions {
  nodes: number;
  heartbeatMs: number;
  durationMs: number;
  rampMs: number;
  /**
   * Nodes register themselves (an enrollment token made with autoRegister) rather than matching
   * Hosts registered by uuid first.
   */
  autoRegister: boolean;
  /** Nodes the simulator starts per second. */
  startRate: number;
}

/** Descriptors a heartbeat run's server and simulator need besides one per node. */
const DESCRIPTORS_BESIDES_NODES = 512;

/**
 * Issue 4's first target: N simulated nodes (auto-registered by an enrollment token made with
 * autoRegister) heartbeating every 10 s against a server with the managers in-process, the
 * simulator in another child process. After every node shows hostStatus "running" (or the ramp
 * limit), a measured window: Host events watched over SSE for "no connection" (none is expected:
 * every node stays up), the server's heartbeat latency histogram (/metrics, scraped before and after
 * the window), a probe's round trips, and both processes' memory.
 */
export async function heartbeatRows(o: HeartbeatRunOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  // One descriptor per agent stream in the server and in the simulator, and the rest: the
  // simulator's heartbeat sockets (256), the bench's, the store's, the listening socket's.
  const need = o.nodes + DESCRIPTORS_BESIDES_NODES;
  const files = openFileLimits();
  if (files && files.soft < need) {
    throw new Error(
      `${o.nodes.toLocaleString('en-US')} nodes need about ${need.toLocaleString('en-US')} open files in the server and in the simulator; these processes may open ${files.soft.toLocaleString('en-US')} (ulimit -n; hard limit ${files.hard.toLocaleString('en-US')}): run at most --nodes ${files.soft - DESCRIPTORS_BESIDES_NODES}, or raise the limit`,
    );
  }
  // The server's default stops at 16,384 connections.
  const f = await fleetServer('fleet-heartbeats', { ...o, ...(need > defaultMaxConnections() ? { maxConnections: need } : {}) });
  let sim: SimProcess | undefined;
  let watch: ResourceWatch | undefined;
  let probe: HeartbeatProbe | undefined;
  try {
    const idleServer = memoryOf(f.server.pid);
    const token = await enrollmentToken(f.admin, o.autoRegister);
    const probeUuid = randomUUID();
    let registerS = 0;
    if (!o.autoRegister) {
      process.stderr.write(`[heartbeats] registering ${o.nodes.toLocaleString('en-US')} hosts by uuid\n`);
      const tr = monoMs();
      await registerHosts(f.server, [...Array.from({ length: o.nodes }, (_, i) => simIdentity(SEED, i)), { index: -1, hostname: 'bench-probe', uuid: probeUuid, serialNumber: '' }], { desiredState: 'onboarded' });
      registerS = (monoMs() - tr) / 1000;
    }
    const enroller = new HttpClient(f.server.url, token, 1);
    const probeEnrolled = await enroller.json<{ hostId: string; token: string }>('POST', '/southbound/v1/enroll', { hostname: 'bench-probe', uuid: probeUuid }, 200);
    enroller.close();

    // Host id → its hostStatus message, from the watch; transitions to "no connection" counted.
    const status = new Map<string, string | undefined>();
    let running = 0;
    let windowOpen = false;
    const lostInRamp = new Set<string>();
    const lostInWindow = new Set<string>();
    const lostAt: string[] = [];
    const lostIds = new Set<string>();
    const recovered = new Set<string>();
    const firstRunningAt = new Map<string, number>();
    watch = await ResourceWatch.open(f.server.url, f.server.token, ['hosts'], (e, at) => {
      if (e.kind !== 'Host' || e.id === probeEnrolled.hostId) return;
      const before = status.get(e.id);
      const now = e.type === 'DELETED' ? undefined : (e.object.status as { hostStatus?: { message?: string } }).hostStatus?.message;
      if (before === now && status.has(e.id)) return;
      if (before === 'running') running--;
      if (now === 'running') {
        running++;
        if (lostIds.has(e.id)) recovered.add(e.id);
        if (!firstRunningAt.has(e.id)) firstRunningAt.set(e.id, at);
      }
      if (now === NO_CONNECTION) {
        lostIds.add(e.id);
        (windowOpen ? lostInWindow : lostInRamp).add(e.id);
        if (lostAt.length < 5) lostAt.push(`${e.object.name} at ${e.at}`);
      }
      status.set(e.id, now);
    });
    probe = new HeartbeatProbe(new HttpClient(f.server.url, probeEnrolled.token, 1), new HttpClient(f.server.url, '', 1));
    probe.start();

    process.stderr.write(`[heartbeats] ${o.nodes.toLocaleString('en-US')} nodes, heartbeat every ${o.heartbeatMs / 1000} s\n`);
    await f.server.sqlStats(); // the ramp's count starts here
    const rampCpu0 = cpuSecondsOf(f.server.pid);
    sim = await SimProcess.spawn({ server: f.server.url, enrollmentToken: token, nodes: o.nodes, heartbeatMs: o.heartbeatMs, seed: SEED, startRate: o.startRate, cpuProfDir: o.cpuProfDir, label: 'sim-heartbeats' });
    const s = sim;
    const progress = () => {
      const st = s.latest;
      const top = st ? Object.entries(st.firstWarnings).sort((a, b) => b[1] - a[1])[0] : undefined;
      return `${running.toLocaleString('en-US')} hosts running; simulator: ${st ? `${st.started} started, ${st.enrolled} enrolled, ${st.heartbeats} heartbeats, ${st.streamConnections} streams opened, ${st.warnings} warnings${top ? ` (most: ${top[1]}× ${top[0]})` : ''}, RSS ${fmt(st.rssMb)} MB, loop p99 ${fmt(st.loopP99Ms)} ms` : 'no stats yet'}; server RSS ${fmt(memoryOf(f.server.pid).rssMb)} MB`;
    };
    const rampStart = s.startingAt;
    const deadline = monoMs() + o.rampMs;
    let nextLog = monoMs() + 5000;
    while (running < o.nodes && monoMs() < deadline) {
      if (monoMs() > nextLog) {
        process.stderr.write(`  … ${progress()}\n`);
        nextLog += 5000;
      }
      await sleep(100);
    }
    const rampMs = monoMs() - rampStart;
    const rampCpuS = cpuSecondsOf(f.server.pid) - rampCpu0;
    const rampSql = await f.server.sqlStats();
    const rampPoolQueued = s.poolQueuedMax;
    s.poolQueuedMax = 0;
    const runningAtStart = running;
    process.stderr.write(`[heartbeats] ${runningAtStart.toLocaleString('en-US')} of ${o.nodes.toLocaleString('en-US')} running after ${fmt(rampMs / 1000)} s; measuring ${o.durationMs / 1000} s\n`);

    const metricsUrl = `${f.server.url}/metrics`;
    const scrape0 = await getText(metricsUrl);
    const before = histogramBuckets(scrape0, 'eim_http_request_duration_seconds', { route: HEARTBEAT_ROUTE });
    const cpu0 = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)];
    const hb0 = s.latest?.heartbeats ?? 0;
    const t0 = monoMs();
    windowOpen = true;
    probe.recording = true;
    let serverRssMax = 0;
    let simRssMax = 0;
    while (monoMs() - t0 < o.durationMs) {
      serverRssMax = Math.max(serverRssMax, memoryOf(f.server.pid).rssMb);
      simRssMax = Math.max(simRssMax, memoryOf(s.pid).rssMb);
      if (monoMs() > nextLog) {
        process.stderr.write(`  … ${fmt((monoMs() - t0) / 1000)} s: ${progress()}; no connection so far: ${lostInWindow.size}\n`);
        nextLog += 10_000;
      }
      await sleep(1000);
    }
    const tEnd = monoMs();
    const seconds = (tEnd - t0) / 1000;
    process.stderr.write(`[heartbeats] window (monotonic ms, for bench/profile-window.ts): --from ${Math.round(t0)} --to ${Math.round(tEnd)}\n`);
    windowOpen = false;
    probe.recording = false;
    const cpu = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)].map((c, i) => (100 * (c - cpu0[i])) / seconds);
    const windowSql = await f.server.sqlStats();
    const scrape1 = await getText(metricsUrl);
    const after = histogramBuckets(scrape1, 'eim_http_request_duration_seconds', { route: HEARTBEAT_ROUTE });
    const writes = counterValue(scrape1, 'eim_writes_total') - counterValue(scrape0, 'eim_writes_total');
    const hbWindow = bucketsBetween(before, after);
    const p99 = quantileOf(hbWindow, 0.99, P99_TARGET_MS);
    const p50 = quantileOf(hbWindow, 0.5);
    const noConnectionNow = await countMatching(f.admin, 'hosts', `status.hostStatus.message = "${NO_CONNECTION}"`);
    const hostsNow = (await countMatching(f.admin, 'hosts')) - 1; // less the probe
    const census = agentTokenCensus(f.target.dataDir);
    const lostCensus = agentTokenCensus(f.target.dataDir, [...lostIds]);
    // Enrolment speed as the fleet grows: hosts first showing running, per tenth of the fleet.
    const runningTimes = [...firstRunningAt.values()].sort((a, b) => a - b);
    const tenth = Math.max(1, Math.floor(o.nodes / 10));
    const pace: string[] = [];
    for (let k = 1; k <= 10 && k * tenth <= runningTimes.length; k++) {
      const from = k === 1 ? rampStart : runningTimes[(k - 1) * tenth - 1];
      pace.push(`${((k - 1) * tenth).toLocaleString('en-US')}–${(k * tenth).toLocaleString('en-US')}: ${fmt(tenth / ((runningTimes[k * tenth - 1] - from) / 1000))}/s`);
    }
    const serverMem = memoryOf(f.server.pid);
    const simMem = memoryOf(s.pid);
    const simStats = s.latest;
    const hbSent = (simStats?.heartbeats ?? 0) - hb0;
    const probeHb = distribution(probe.heartbeat);
    const probeHz = distribution(probe.healthz);
    const nodes = o.nodes.toLocaleString('en-US');
    const window = `${fmt(seconds)} s window`;
    const notAll = runningAtStart < o.nodes ? `only ${runningAtStart.toLocaleString('en-US')} of ${nodes} nodes showed running when the window began` : undefined;

    const rows: ResultRow[] = [
      {
        metric: `${nodes} nodes enrolled and running (ramp), started at ${o.startRate.toLocaleString('en-US')}/s`,
        dialect: 'sqlite',
        value: rampMs / 1000,
        unit: 's',
        baseline: { value: o.nodes / o.startRate, label: 'the simulator starting them alone' },
        target: { op: '<=', value: RAMP_TARGET_S, label: `${nodes} nodes at ${o.startRate.toLocaleString('en-US')}/s` },
        ...(runningAtStart < o.nodes ? { unmet: `only ${runningAtStart.toLocaleString('en-US')} of ${nodes} running after ${fmt(rampMs / 1000)} s` } : {}),
        notes: [
          `simulator start → every Host's hostStatus "running"; ${o.autoRegister ? 'each node registers its own Host (an enrollment token with autoRegister)' : `the Hosts were registered by uuid first (${fmt(registerS)} s over HTTP), each node matches its own`}; the simulator starts ${o.startRate} nodes/s`,
          `${runningAtStart.toLocaleString('en-US')} running then`,
          // Steadier than the wall time on a shared machine (time the VM was not scheduled is not in it).
          `server CPU in the ramp ${fmt(rampCpuS)} s (${pct((100 * rampCpuS) / (rampMs / 1000))} of one core; ${fmt((1000 * rampCpuS) / o.nodes)} ms per node)`,
          `hosts showing running per second, by tenth of the fleet: ${pace.join(', ')}`,
          `${hostsNow.toLocaleString('en-US')} Hosts in the store (nodes: ${nodes}); agent tokens: ${census.reissued} hosts enrolled more than once, ${census.allRevoked} with every agent token revoked`,
        ].join('; '),
      },
      {
        metric: 'agents left with a revoked token',
        dialect: 'sqlite',
        value: simStats ? (simStats.exits.revoked ?? 0) : NaN,
        unit: 'agents',
        target: { op: '<=', value: 0, label: 'enrolment storm' },
        notes: `agents that stopped on a 401 for their agent token (the simulator's exit count); hosts with every agent token revoked in the store: ${census.allRevoked}; hosts enrolled more than once (a retry racing its original, or a 429 then a retry): ${census.reissued}`,
      },
      {
        metric: 'enrolments failed for good',
        dialect: 'sqlite',
        value: simStats ? (simStats.exits.refused ?? 0) + (simStats.exits.failed ?? 0) : NaN,
        unit: 'agents',
        target: { op: '<=', value: 0, label: 'enrolment storm' },
        notes: `agents that gave up enrolling (refused, or failed); ${simStats?.enrolled.toLocaleString('en-US') ?? '?'} of ${nodes} enrolled; 429s and time-outs are retried (Retry-After with jitter) and are not failures`,
      },
      {
        metric: `false "no connection", ${nodes} nodes, heartbeat ${o.heartbeatMs / 1000} s`,
        dialect: 'sqlite',
        value: lostInWindow.size,
        unit: 'hosts',
        target: { op: '<=', value: 0, label: `over the ${window}` },
        unmet: notAll,
        notes: [`hosts whose hostStatus became "no connection" in the ${window} (Host events over SSE, ${watch.events.toLocaleString('en-US')} seen in all)`, `${lostInRamp.size} during the ramp`, `the filter finds ${noConnectionNow} now`, ...(lostAt.length ? [`first: ${lostAt.join(', ')}`, `of the ${lostIds.size} hosts lost (ramp and window), ${recovered.size} came back to running (their agent was alive: heartbeats late by more than the 30 s lease) and ${lostCensus.reissued} were issued more than one agent token (enrolled more than once; ${simStats?.exits.revoked ?? 0} agents stopped on a 401 for a revoked token)`] : [])].join('; '),
      },
      {
        metric: 'heartbeat handling p99 (server histogram)',
        dialect: 'sqlite',
        value: p99.estimateMs,
        unit: 'ms',
        baseline: { value: probeHz.p99, label: 'probe GET /healthz round trip p99' },
        target: { op: '<=', value: P99_TARGET_MS, label: `${nodes} nodes` },
        unmet: notAll,
        notes: [
          `eim_http_request_duration_seconds{route="${HEARTBEAT_ROUTE}"} over the ${window}: ${p99.n.toLocaleString('en-US')} heartbeats (${fmt(p99.n / seconds)}/s; the simulator sent ${hbSent.toLocaleString('en-US')}), p99 in the (${fmt(p99.lowerMs)}, ${fmt(p99.upperMs)}] ms bucket, ${p99.shareAtOrBelow !== undefined ? `${(100 * p99.shareAtOrBelow).toFixed(2)} % ≤ ${P99_TARGET_MS} ms` : ''}; p50 ≈ ${fmt(p50.estimateMs)} ms`,
          `probe heartbeat round trip p50 ${fmt(probeHb.p50)} / p99 ${fmt(probeHb.p99)} / max ${fmt(probeHb.max)} ms (${probeHb.n} sent${probe.errors ? `; ${probe.errors} probe errors, first: ${probe.firstError}` : ''})`,
          `CPU server ${pct(cpu[0])}, simulator ${pct(cpu[1])}`,
          `${writes.toLocaleString('en-US')} store writes in the window (${fmt(writes / seconds)}/s)`,
          `agent command streams opened in all: ${simStats?.streamConnections.toLocaleString('en-US') ?? '?'}`,
        ].join('; '),
      },
      {
        metric: `server RSS, ${nodes} nodes connected`,
        dialect: 'sqlite',
        value: serverMem.peakMb,
        unit: 'MB',
        baseline: { value: idleServer.rssMb, label: 'idle, empty store, just before' },
        target: { op: '<=', value: RSS_TARGET_MB, label: '1 GiB' },
        notes: `peak (VmHWM) since its start; VmRSS at the end ${fmt(serverMem.rssMb)} MB, largest in the window ${fmt(serverRssMax)} MB (peak − idle: ${fmt((1024 * (serverMem.peakMb - idleServer.rssMb)) / o.nodes)} KB per node)`,
      },
      {
        metric: `simulator RSS, ${nodes} nodes`,
        dialect: 'sqlite',
        value: simMem.peakMb,
        unit: 'MB',
        target: { op: '<=', value: SIM_RSS_TARGET_MB, label: '1.5 GiB' },
        notes: `peak (VmHWM); VmRSS at the end ${fmt(simMem.rssMb)} MB (${fmt((1024 * simMem.rssMb) / o.nodes)} KB per node), largest in the window ${fmt(simRssMax)} MB; its event-loop delay p99 ${fmt(simStats?.loopP99Ms ?? NaN)} ms (last 2 s); requests waiting for a socket of its shared 256-socket pool: up to ${rampPoolQueued.toLocaleString('en-US')} during the ramp, ${s.poolQueuedMax.toLocaleString('en-US')} in the window; agents ended: ${JSON.stringify(simStats?.exits ?? {})}; agent warnings ${simStats?.warnings ?? '?'}${simStats && simStats.warnings > 0 ? ` (${Object.entries(simStats.firstWarnings).map(([k, v]) => `${v}× ${k}`).join('; ')})` : ''}`,
      },
    ];
    const details = [
      `heartbeats: the window ran from ${Math.round(t0)} to ${Math.round(tEnd)} ms on the monotonic clock (bench/profile-window.ts --from/--to); the ramp began at ${Math.round(rampStart)}`,
      `heartbeats, the ramp: ${describeSqlStats(rampSql, rampMs / 1000)}`,
      `heartbeats, the window: ${describeSqlStats(windowSql, seconds)}`,
      `heartbeats: server histogram buckets over the window (le ms: count): ${hbWindow.le.map((le, i) => `${Number.isFinite(le) ? fmt(le * 1000) : '+Inf'}: ${hbWindow.counts[i]}`).join(', ')}`,
      `heartbeats: simulator at the end: ${JSON.stringify({ ...simStats, firstWarnings: undefined })}`,
    ];
    return { rows, details };
  } finally {
    await probe?.stop().catch(() => {});
    watch?.close();
    await sim?.stop();
    await f.close();
  }
}
