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

const TARGET_MS = 2000;
const CLIENTS = 16;
/** How often the simulator child reports its counters (the resolution of "every agent applied"). */
const REPORT_MS = 20;

export interface ConfigRolloutOptions {
  hosts: number;
  /** Simulated command time; applying a config takes a share of it (ConfigRolloutKind.applyShare). */
  provisionMs: number;
  startRate: number;
  heartbeatMs: number;
}

type Post = (path: string, body: unknown) => Promise<string>;
type Admin = { json: (method: 'PATCH', path: string, body: unknown, status: number) => Promise<unknown> };

/** What differs between the config rollouts the agents' streams carry (telemetry, node configuration). */
export interface ConfigRolloutKind {
  /** Log prefix and the server's label: `telemetry`, `node-config`. */
  tag: string;
  seed: string;
  /** The Host status field with { version, appliedVersion }. */
  statusField: 'telemetry' | 'nodeConfig';
  /** The simulator's counters of stream events and of applies of this config. */
  counters: { events: 'configEvents' | 'nodeConfigEvents'; applied: 'configsApplied' | 'nodeConfigsApplied' };
  /** What one is called in the notes: `config`, `node-config`. */
  eventNoun: string;
  /** What the agents apply, plural ("node configs"), for the target's note. */
  appliedNoun: string;
  /** Applying one takes provisionMs / this in the simulator. */
  applyShare: number;
  /** The regions and site the hosts go in. */
  place: (post: Post) => Promise<{ siteId: string; where: string; ids: Record<string, string> }>;
  /** Round 1 (warm-up): makes the resource; its id. */
  create: { say: string; detail: string; act: (post: Post, place: { siteId: string; ids: Record<string, string> }) => Promise<string> };
  /** Round 2 (measured): changes it. */
  change: { say: string; label: string; act: (admin: Admin, id: string) => Promise<void> };
  /** `region-level telemetry change`, and what the agents did: `applied it`. */
  what: string;
  agentsDid: string;
  /** The resource the PATCH changed (`profile`), and the manager that writes the hosts (`telemetry manager`). */
  changed: string;
  manager: string;
}

/** One round of changes, as the bench's watch and the simulator's counters saw it. */
interface Round {
  /** The version every host had before. */
  before?: string;
  t0: number;
  /** Host id → when its status.<field>.version changed / its appliedVersion caught up (monotonic ms). */
  written: Map<string, number>;
  applied: Map<string, number>;
}

/**
 * A config change reaching N agents (issue 5's telemetry target, issue 14's node configuration):
 * N hosts in one site, their nodes (the fleet simulator, a child process) connected; the resource
 * is created (round 1, warm-up) and then changed (round 2, measured): time from the PATCH's answer
 * until every agent applied the new version (the simulator's counter) and until every Host shows
 * it in status.<field>.appliedVersion (the bench's watch). Baseline in the same run: N plain Host
 * status writes over HTTP (16 clients), what the manager's N writes would cost if made from outside.
 */
export async function configRolloutRows(o: ConfigRolloutOptions, k: ConfigRolloutKind): Promise<{ rows: ResultRow[]; details: string[] }> {
  const f = await fleetServer(k.tag, {});
  let sim: SimProcess | undefined;
  let watch: ResourceWatch | undefined;
  let writer: HttpClient | undefined;
  try {
    const admin = f.admin;
    const post = async (path: string, body: unknown) => (await admin.json<{ id: string }>('POST', `/v1/projects/default/${path}`, body, 201)).id;
    const place = await k.place(post);
    const token = await enrollmentToken(admin, false);
    const n = o.hosts.toLocaleString('en-US');
    process.stderr.write(`[${k.tag}] registering ${n} hosts in ${place.where}\n`);
    const ids = await registerHosts(f.server, Array.from({ length: o.hosts }, (_, i) => simIdentity(k.seed, i)), { desiredState: 'onboarded', siteId: place.siteId });
    const mine = new Set(ids);

    let round: Round | undefined;
    watch = await ResourceWatch.open(
      f.server.url,
      f.server.token,
      ['hosts'],
      (e, at) => {
        if (!round || e.type === 'DELETED' || !mine.has(e.id)) return;
        const t = (e.object.status as Record<string, { version: string; appliedVersion?: string } | undefined>)[k.statusField];
        if (!t || t.version === round.before) return;
        if (!round.written.has(e.id)) round.written.set(e.id, at);
        if (t.appliedVersion === t.version && !round.applied.has(e.id)) round.applied.set(e.id, at);
      },
      await headRevision(admin),
    );

    process.stderr.write(`[${k.tag}] starting ${n} nodes (${k.eventNoun} apply ${o.provisionMs / k.applyShare} ms)\n`);
    sim = await SimProcess.spawn({ server: f.server.url, enrollmentToken: token, nodes: o.hosts, seed: k.seed, heartbeatMs: o.heartbeatMs, provisionTimeMs: o.provisionMs, startRate: o.startRate, reportMs: REPORT_MS, label: `sim-${k.tag}` });
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
      const events0 = s.latest![k.counters.events];
      const applied0 = s.latest![k.counters.applied];
      const before = (await admin.json<{ status: Record<string, { version: string } | undefined> }>('GET', `/v1/projects/default/hosts/${ids[0]}`, undefined, 200)).status[k.statusField]?.version;
      const r: Round = { before, t0: monoMs(), written: new Map(), applied: new Map() };
      round = r;
      const cpu0 = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)];
      await act();
      const ackAt = monoMs();
      let agentsAt = Number.NaN;
      const ok = await waitUntil(
        () => {
          if (Number.isNaN(agentsAt) && s.latest![k.counters.applied] - applied0 >= o.hosts) agentsAt = s.latest!.at;
          return !Number.isNaN(agentsAt) && r.applied.size >= o.hosts;
        },
        120_000,
        () => `${label}: ${s.latest![k.counters.applied] - applied0} agents applied, ${r.written.size} hosts written, ${r.applied.size} show it applied`,
      );
      const end = monoMs();
      const cpu = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)].map((c, i) => (100 * (c - cpu0[i])) / ((end - r.t0) / 1000));
      await sleep(1000); // anything sent late would show in the event count
      return { r, ok, ackAt, agentsAt, appliedAt: Math.max(...r.applied.values()), writtenAt: Math.max(...r.written.values()), events: s.latest![k.counters.events] - events0, applies: s.latest![k.counters.applied] - applied0, cpu };
    };

    let made = '';
    process.stderr.write(`[${k.tag}] round 1: ${k.create.say} (warm-up)\n`);
    const first = await change('create', async () => {
      made = await k.create.act(post, place);
    });
    await sleep(2000);

    process.stderr.write(`[${k.tag}] baseline: ${n} Host status writes over HTTP, ${CLIENTS} at a time\n`);
    const mgrToken = (await admin.json<{ token: string }>('POST', '/v1/projects/default/tokens', { role: 'manager' }, 201)).token;
    writer = new HttpClient(f.server.url, mgrToken, CLIENTS);
    const w = writer;
    const baselineEvents0 = s.latest![k.counters.events];
    const b0 = monoMs();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = next++; i < ids.length; i = next++) await w.json('PATCH', `/v1/projects/default/hosts/${ids[i]}/status`, { lastSeenAt: new Date().toISOString() }, 200, c);
      }),
    );
    const baselineMs = monoMs() - b0;
    await sleep(2000);
    const resent = s.latest![k.counters.events] - baselineEvents0;

    process.stderr.write(`[${k.tag}] round 2: ${k.change.say} (measured)\n`);
    const second = await change(k.change.label, () => k.change.act(admin, made));

    const per = (m: Map<string, number>, from: number): Distribution => distribution([...m.values()].map((at) => at - from));
    const d = (x: Distribution) => `p50 ${fmt(x.p50)} / p99 ${fmt(x.p99)} / max ${fmt(x.max)} ms`;
    const unmet = (x: typeof second) => (x.ok ? (x.events !== o.hosts ? `${x.events} ${k.eventNoun} events for ${n} agents (once each expected)` : undefined) : `only ${x.r.applied.size} of ${n} hosts showed the config applied within 120 s`);
    const rows: ResultRow[] = [
      {
        metric: `${k.what} → all ${n} agents ${k.agentsDid}`,
        dialect: 'sqlite',
        value: second.agentsAt - second.ackAt,
        unit: 'ms',
        baseline: { value: baselineMs, label: `${n} plain Host status writes over HTTP, ${CLIENTS} clients` },
        target: { op: '<=', value: TARGET_MS, label: `${n} agents` },
        unmet: unmet(second),
        notes: [
          `from the ${k.changed} PATCH's 200 to the simulator's report (every ${REPORT_MS} ms) counting ${n} more ${k.appliedNoun} applied`,
          `${k.manager} wrote all ${n} hosts' status.${k.statusField} ${fmt(second.writtenAt - second.ackAt)} ms after the 200 (per host ${d(per(second.r.written, second.ackAt))})`,
          `${second.events.toLocaleString('en-US')} ${k.eventNoun} events reached the agents, ${second.applies.toLocaleString('en-US')} applied`,
          `CPU server ${pct(second.cpu[0])}, simulator ${pct(second.cpu[1])}`,
        ].join('; '),
      },
      {
        metric: `${k.what} → all ${n} hosts show appliedVersion`,
        dialect: 'sqlite',
        value: second.appliedAt - second.ackAt,
        unit: 'ms',
        baseline: { value: baselineMs, label: `${n} plain Host status writes over HTTP, ${CLIENTS} clients` },
        notes: `per host, PATCH 200 → Host event with appliedVersion = version on the bench's watch: ${d(per(second.r.applied, second.ackAt))}`,
      },
    ];
    const details = [
      `round 1 (${k.create.detail}, warm-up): every agent applied ${fmt(first.agentsAt - first.ackAt)} ms after the POST's 201, every host showed appliedVersion after ${fmt(first.appliedAt - first.ackAt)} ms; ${first.events} ${k.eventNoun} events`,
      `baseline: ${n} PATCH …/hosts/{id}/status (lastSeenAt) with a manager token, ${CLIENTS} at a time: ${fmt(baselineMs)} ms (${fmt((o.hosts * 1000) / baselineMs)} writes/s); ${k.eventNoun} events they caused: ${resent} (a Host write that leaves the version alone sends none)`,
    ];
    return { rows, details };
  } finally {
    writer?.close();
    watch?.close();
    await sim?.stop();
    await f.close();
  }
}
