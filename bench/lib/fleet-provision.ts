import { simIdentity } from '../../src/sim/fleet-simulator.ts';
import { monoMs } from './clock.ts';
import { countMatching, createDefaultOs, enrollmentToken, type FleetRunOptions, fleetServer, headRevision, registerHosts, waitUntil } from './fleet-setup.ts';
import { getText } from './http-client.ts';
import { distribution } from './percentiles.ts';
import { counterValue } from './prom-histogram.ts';
import { cpuSecondsOf, memoryOf } from './proc-stats.ts';
import { ResourceWatch } from './resource-watch.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { pct } from './row-notes.ts';
import { SimProcess } from './sim-process.ts';
import { describeSqlStats } from './sql-stats.ts';

const TARGET_S = 30;
const SEED = 'prov';

/** First time (monotonic ms) each id reached a state. */
class Milestone {
  readonly at = new Map<string, number>();
  mark(id: string, at: number): void {
    if (!this.at.has(id)) this.at.set(id, at);
  }
  get size(): number {
    return this.at.size;
  }
  /** ms after `t0` when the last one got there; NaN when fewer than `n` did. */
  last(t0: number, n: number): number {
    return this.at.size >= n ? Math.max(...this.at.values()) - t0 : Number.NaN;
  }
}

/**
 * Issue 4's second target: N hosts registered by uuid (desiredState onboarded, autoProvision) with
 * a default OS profile, then N simulated nodes started; timed from the simulator's start until
 * every Instance's status.currentState is running (Host and Instance events over SSE).
 */
export async function provisionRows(o: FleetRunOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  const f = await fleetServer('fleet-provision', o);
  let sim: SimProcess | undefined;
  let watch: ResourceWatch | undefined;
  try {
    await createDefaultOs(f.admin);
    const token = await enrollmentToken(f.admin, false);
    const identities = Array.from({ length: o.hosts }, (_, i) => simIdentity(SEED, i));
    process.stderr.write(`[provision] registering ${o.hosts.toLocaleString('en-US')} hosts\n`);
    const tr = monoMs();
    await registerHosts(f.server, identities, { desiredState: 'onboarded', autoProvision: true });
    const registerS = (monoMs() - tr) / 1000;
    const writes0 = counterValue(await getText(`${f.server.url}/metrics`), 'eim_writes_total');
    const eventsByKind: Record<string, number> = {};
    const enrolled = new Milestone();
    const onboarded = new Milestone();
    const created = new Milestone();
    const running = new Milestone();
    watch = await ResourceWatch.open(
      f.server.url,
      f.server.token,
      ['hosts', 'instances'],
      (e, at) => {
        eventsByKind[e.kind] = (eventsByKind[e.kind] ?? 0) + 1;
        if (e.type === 'DELETED') return;
        const st = e.object.status as { currentState?: string; registrationStatus?: { message?: string } };
        if (e.kind === 'Host') {
          if (st.registrationStatus?.message?.startsWith('agent enrolled')) enrolled.mark(e.id, at);
          if (st.currentState === 'onboarded') onboarded.mark(e.id, at);
        } else if (e.kind === 'Instance') {
          created.mark(e.id, at);
          if (st.currentState === 'running') running.mark(e.id, at);
        }
      },
      await headRevision(f.admin),
    );
    await f.server.sqlStats();
    process.stderr.write(`[provision] starting ${o.hosts.toLocaleString('en-US')} nodes (${o.provisionMs / 1000} s install)\n`);
    sim = await SimProcess.spawn({ server: f.server.url, enrollmentToken: token, nodes: o.hosts, seed: SEED, heartbeatMs: o.heartbeatMs, provisionTimeMs: o.provisionMs, startRate: o.startRate, cpuProfDir: o.cpuProfDir, label: 'sim-provision' });
    const s = sim;
    const t0 = s.startingAt;
    const cpu0 = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)];
    const all = await waitUntil(() => running.size >= o.hosts, 180_000, () => `${enrolled.size} enrolled, ${onboarded.size} onboarded, ${created.size} instances, ${running.size} running`);
    const tEnd = monoMs();
    const elapsedS = (tEnd - t0) / 1000;
    process.stderr.write(`[provision] window (monotonic ms, for bench/profile-window.ts): --from ${Math.round(t0)} --to ${Math.round(tEnd)}\n`);
    const cpu = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)].map((c, i) => (100 * (c - cpu0[i])) / elapsedS);
    const lastS = running.last(t0, o.hosts) / 1000;
    const sqlRun = await f.server.sqlStats();
    const writes = counterValue(await getText(`${f.server.url}/metrics`), 'eim_writes_total') - writes0;
    const listed = await countMatching(f.admin, 'instances', 'status.currentState = running');
    const perInstance = distribution([...running.at.values()].map((t) => (t - t0) / 1000));
    const startSpreadS = (s.startedAt - t0) / 1000;
    const floorS = startSpreadS + o.provisionMs / 1000;
    const n = o.hosts.toLocaleString('en-US');
    const at = (m: Milestone) => (m.size >= o.hosts ? `${fmt(m.last(t0, o.hosts) / 1000)} s` : `only ${m.size}`);
    const rows: ResultRow[] = [
      {
        metric: `${n} hosts registered → instances running (${o.provisionMs / 1000} s install)`,
        dialect: 'sqlite',
        value: all ? lastS : elapsedS,
        unit: 's',
        baseline: { value: floorS, label: `the simulator's floor: starting every node (${fmt(startSpreadS)} s at ${o.startRate}/s) + one install` },
        target: { op: '<=', value: TARGET_S, label: `${n} hosts, 2 s install` },
        unmet: all ? undefined : `only ${running.size} of ${n} instances running after ${fmt(elapsedS)} s`,
        notes: [
          `from the simulator's start: all enrolled ${at(enrolled)}, all onboarded ${at(onboarded)}, all instances created ${at(created)}, all running ${at(running)}`,
          `per instance to running p50 ${fmt(perInstance.p50)} / p99 ${fmt(perInstance.p99)} s`,
          `${listed} listed running at the end`,
          `CPU server ${pct(cpu[0])}, simulator ${pct(cpu[1])}`,
          `server RSS ${fmt(memoryOf(f.server.pid).rssMb)} MB`,
          `${fmt(writes / o.hosts)} store writes per host (${writes.toLocaleString('en-US')} in all, ${fmt(writes / elapsedS)}/s; Host events ${fmt((eventsByKind.Host ?? 0) / o.hosts)}, Instance events ${fmt((eventsByKind.Instance ?? 0) / o.hosts)} per host)`,
          `agent warnings ${s.latest?.warnings ?? '?'}`,
        ].join('; '),
      },
    ];
    const details = [`provision: ${describeSqlStats(sqlRun, elapsedS)}`, `provision: the nodes ran from ${Math.round(t0)} to ${Math.round(tEnd)} ms on the monotonic clock (bench/profile-window.ts --from/--to)`, `provision: ${n} hosts registered over HTTP (16 editors) in ${fmt(registerS)} s before the nodes started; simulator at the end: ${JSON.stringify({ ...s.latest, firstWarnings: s.latest?.warnings ? s.latest.firstWarnings : undefined })}`];
    return { rows, details };
  } finally {
    watch?.close();
    await sim?.stop();
    await f.close();
  }
}
