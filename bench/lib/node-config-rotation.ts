import { simIdentity } from '../../src/sim/fleet-simulator.ts';
import { monoMs, sleep } from './clock.ts';
import { countMatching, enrollmentToken, fleetServer, headRevision, registerHosts, waitUntil } from './fleet-setup.ts';
import { HttpClient } from './http-client.ts';
import { type Distribution, distribution } from './percentiles.ts';
import { cpuSecondsOf } from './proc-stats.ts';
import { ResourceWatch } from './resource-watch.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { pct } from './row-notes.ts';
import { SimProcess } from './sim-process.ts';
import { testEd25519Key } from '../../src/testing/ssh-keys.ts';

const TARGET_MS = 2000;
const SEED = 'nc';
const CLIENTS = 16;
/** How often the simulator child reports its counters (the resolution of "every agent applied"). */
const REPORT_MS = 20;

export interface NodeConfigRunOptions {
  hosts: number;
  /** Simulated command time; applying a node config takes a twentieth of it. */
  provisionMs: number;
  startRate: number;
  heartbeatMs: number;
}

/** One round of node-config changes, as the bench's watch and the simulator's counters saw it. */
interface Round {
  /** The version every host had before. */
  before?: string;
  t0: number;
  /** Host id → when its status.nodeConfig.version changed / its appliedVersion caught up (monotonic ms). */
  written: Map<string, number>;
  applied: Map<string, number>;
}

/**
 * Issue 14's target: a site-level SSH key rotation reaches N agents. N hosts in one site, their
 * nodes (the fleet simulator, a child process) connected; a LocalAccount is created for the site
 * (round 1, warm-up) and its key rotated (round 2, measured): time from the PATCH's answer until
 * every agent applied the new version (the simulator's counter) and until every Host shows it in
 * status.nodeConfig.appliedVersion (the bench's watch; the agent reports right after applying).
 * Baseline in the same run: N plain Host status writes over HTTP (16 clients).
 */
export async function nodeConfigRows(o: NodeConfigRunOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  const f = await fleetServer('node-config', {});
  let sim: SimProcess | undefined;
  let watch: ResourceWatch | undefined;
  let writer: HttpClient | undefined;
  try {
    const admin = f.admin;
    const post = async (path: string, body: unknown) => (await admin.json<{ id: string }>('POST', `/v1/projects/default/${path}`, body, 201)).id;
    const europe = await post('regions', { name: 'europe', spec: {} });
    const paris = await post('sites', { name: 'paris', spec: { regionId: europe } });
    const token = await enrollmentToken(admin, false);
    const n = o.hosts.toLocaleString('en-US');
    process.stderr.write(`[node-config] registering ${n} hosts in site paris (region europe)\n`);
    const ids = await registerHosts(f.server, Array.from({ length: o.hosts }, (_, i) => simIdentity(SEED, i)), { desiredState: 'onboarded', siteId: paris });
    const mine = new Set(ids);

    let round: Round | undefined;
    watch = await ResourceWatch.open(
      f.server.url,
      f.server.token,
      ['hosts'],
      (e, at) => {
        if (!round || e.type === 'DELETED' || !mine.has(e.id)) return;
        const t = (e.object.status as { nodeConfig?: { version: string; appliedVersion?: string } }).nodeConfig;
        if (!t || t.version === round.before) return;
        if (!round.written.has(e.id)) round.written.set(e.id, at);
        if (t.appliedVersion === t.version && !round.applied.has(e.id)) round.applied.set(e.id, at);
      },
      await headRevision(admin),
    );

    process.stderr.write(`[node-config] starting ${n} nodes (node config apply ${o.provisionMs / 20} ms)\n`);
    sim = await SimProcess.spawn({ server: f.server.url, enrollmentToken: token, nodes: o.hosts, seed: SEED, heartbeatMs: o.heartbeatMs, provisionTimeMs: o.provisionMs, startRate: o.startRate, reportMs: REPORT_MS, label: 'sim-node-config' });
    const s = sim;
    let running = 0;
    const poll = setInterval(() => void countMatching(admin, 'hosts', 'status.hostStatus.message = "running"').then((c) => (running = c), () => {}), 500); // a reset connection under load: the next poll asks again
    const up = await waitUntil(
      () => (s.latest?.streamConnections ?? 0) >= o.hosts && running >= o.hosts,
      300_000,
      () => `${s.latest?.enrolled ?? 0} enrolled, ${s.latest?.streamConnections ?? 0} streams, ${running} running`,
    );
    clearInterval(poll);
    if (!up) throw new Error(`only ${running} of ${n} hosts were running with their streams open within 300 s`);
    await sleep(2000); // enrolment's tail (hardware reports, status) drains

    /** Runs one change; resolves when every agent applied it (by the simulator's counter) and every host shows it applied. */
    const change = async (label: string, act: () => Promise<void>) => {
      const events0 = s.latest!.nodeConfigEvents;
      const applied0 = s.latest!.nodeConfigsApplied;
      const before = (await admin.json<{ status: { nodeConfig?: { version: string } } }>('GET', `/v1/projects/default/hosts/${ids[0]}`, undefined, 200)).status.nodeConfig?.version;
      const r: Round = { before, t0: monoMs(), written: new Map(), applied: new Map() };
      round = r;
      const cpu0 = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)];
      await act();
      const ackAt = monoMs();
      let agentsAt = Number.NaN;
      const ok = await waitUntil(
        () => {
          if (Number.isNaN(agentsAt) && s.latest!.nodeConfigsApplied - applied0 >= o.hosts) agentsAt = s.latest!.at;
          return !Number.isNaN(agentsAt) && r.applied.size >= o.hosts;
        },
        120_000,
        () => `${label}: ${s.latest!.nodeConfigsApplied - applied0} agents applied, ${r.written.size} hosts written, ${r.applied.size} show it applied`,
      );
      const end = monoMs();
      const cpu = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)].map((c, i) => (100 * (c - cpu0[i])) / ((end - r.t0) / 1000));
      await sleep(1000); // anything sent late would show in the event count
      return { r, ok, ackAt, agentsAt, appliedAt: Math.max(...r.applied.values()), writtenAt: Math.max(...r.written.values()), events: s.latest!.nodeConfigEvents - events0, applies: s.latest!.nodeConfigsApplied - applied0, cpu };
    };

    let account = '';
    process.stderr.write(`[node-config] round 1: a local account for site paris (warm-up)\n`);
    const first = await change('create', async () => {
      account = await post('local-accounts', { name: 'ops', spec: { username: 'ops', sshKeys: [testEd25519Key('ops@old')], sudo: 'nopasswd', target: { siteId: paris } } });
    });
    await sleep(2000);

    process.stderr.write(`[node-config] baseline: ${n} Host status writes over HTTP, ${CLIENTS} at a time\n`);
    const mgrToken = (await admin.json<{ token: string }>('POST', '/v1/projects/default/tokens', { role: 'manager' }, 201)).token;
    writer = new HttpClient(f.server.url, mgrToken, CLIENTS);
    const w = writer;
    const baselineEvents0 = s.latest!.nodeConfigEvents;
    const b0 = monoMs();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = next++; i < ids.length; i = next++) await w.json('PATCH', `/v1/projects/default/hosts/${ids[i]}/status`, { lastSeenAt: new Date().toISOString() }, 200, c);
      }),
    );
    const baselineMs = monoMs() - b0;
    await sleep(2000);
    const resent = s.latest!.nodeConfigEvents - baselineEvents0;

    process.stderr.write(`[node-config] round 2: rotate the account's SSH key (measured)\n`);
    const second = await change('rotate', async () => {
      await admin.json('PATCH', `/v1/projects/default/local-accounts/${account}`, { spec: { sshKeys: [testEd25519Key('ops@new')] } }, 200);
    });

    const per = (m: Map<string, number>, from: number): Distribution => distribution([...m.values()].map((at) => at - from));
    const d = (x: Distribution) => `p50 ${fmt(x.p50)} / p99 ${fmt(x.p99)} / max ${fmt(x.max)} ms`;
    const unmet = (x: typeof second) => (x.ok ? (x.events !== o.hosts ? `${x.events} node-config events for ${n} agents (once each expected)` : undefined) : `only ${x.r.applied.size} of ${n} hosts showed the config applied within 120 s`);
    const rows: ResultRow[] = [
      {
        metric: `site-level SSH key rotation → all ${n} agents applied and reported it`,
        dialect: 'sqlite',
        value: second.agentsAt - second.ackAt,
        unit: 'ms',
        baseline: { value: baselineMs, label: `${n} plain Host status writes over HTTP, ${CLIENTS} clients` },
        target: { op: '<=', value: TARGET_MS, label: `${n} agents` },
        unmet: unmet(second),
        notes: [
          `from the account PATCH's 200 to the simulator's report (every ${REPORT_MS} ms) counting ${n} more node configs applied`,
          `node-config manager wrote all ${n} hosts' status.nodeConfig ${fmt(second.writtenAt - second.ackAt)} ms after the 200 (per host ${d(per(second.r.written, second.ackAt))})`,
          `${second.events.toLocaleString('en-US')} node-config events reached the agents, ${second.applies.toLocaleString('en-US')} applied`,
          `CPU server ${pct(second.cpu[0])}, simulator ${pct(second.cpu[1])}`,
        ].join('; '),
      },
      {
        metric: `site-level SSH key rotation → all ${n} hosts show appliedVersion`,
        dialect: 'sqlite',
        value: second.appliedAt - second.ackAt,
        unit: 'ms',
        baseline: { value: baselineMs, label: `${n} plain Host status writes over HTTP, ${CLIENTS} clients` },
        notes: `per host, PATCH 200 → Host event with appliedVersion = version on the bench's watch: ${d(per(second.r.applied, second.ackAt))}`,
      },
    ];
    const details = [
      `round 1 (account created for site paris, warm-up): every agent applied ${fmt(first.agentsAt - first.ackAt)} ms after the POST's 201, every host showed appliedVersion after ${fmt(first.appliedAt - first.ackAt)} ms; ${first.events} node-config events`,
      `baseline: ${n} PATCH …/hosts/{id}/status (lastSeenAt) with a manager token, ${CLIENTS} at a time: ${fmt(baselineMs)} ms (${fmt((o.hosts * 1000) / baselineMs)} writes/s); node-config events they caused: ${resent} (a Host write that leaves the version alone sends none)`,
    ];
    return { rows, details };
  } finally {
    writer?.close();
    watch?.close();
    await sim?.stop();
    await f.close();
  }
}
