import { simIdentity } from '../../src/sim/fleet-simulator.ts';
import { clientTokens } from './client-tokens.ts';
import { monoMs, sleep } from './clock.ts';
import { enrollmentToken, type FleetRunOptions, fleetServer, headRevision, registerHosts, waitUntil } from './fleet-setup.ts';
import { getText, HttpClient } from './http-client.ts';
import { counterValue } from './prom-histogram.ts';
import { type Distribution, distribution } from './percentiles.ts';
import { cpuSecondsOf } from './proc-stats.ts';
import { ResourceWatch } from './resource-watch.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { pct } from './row-notes.ts';
import { SimProcess } from './sim-process.ts';
import { describeSqlStats } from './sql-stats.ts';

const TARGET_MS = 100;
const SEED = 'pwr';
const CLIENTS = 16;
/** Changes made one at a time first, each waited for: the latency with nothing else in flight. */
const ALONE = 20;

/** One host's change, monotonic ms. */
interface Change {
  sentAt: number;
  ackAt: number;
  /** Its own UPDATED event (desiredPowerState off) reached the bench's watch. */
  ownEventAt?: number;
  commandAt?: number;
  commandDoneAt?: number;
  offAt?: number;
}

/**
 * Issue 4's third target: desired state change → agent command → status written. N onboarded
 * hosts whose nodes run (simulated commands of `provisionMs`, power a tenth of it), settled with
 * currentPowerState on; then every host's spec.desiredPowerState is PATCHed to off, 16 PATCHes at
 * a time, and each host is timed from its PATCH's 200 to the Host event (SSE) showing
 * status.currentPowerState off. Command events split the time: to the power Command's creation,
 * to its success, to the Host's status.
 */
export async function powerRows(o: FleetRunOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  const f = await fleetServer('fleet-power', o);
  let sim: SimProcess | undefined;
  let watch: ResourceWatch | undefined;
  let http: HttpClient | undefined;
  try {
    const token = await enrollmentToken(f.admin, false);
    const identities = Array.from({ length: o.hosts }, (_, i) => simIdentity(SEED, i));
    process.stderr.write(`[power] registering ${o.hosts.toLocaleString('en-US')} hosts\n`);
    const ids = await registerHosts(f.server, identities, { desiredState: 'onboarded', desiredPowerState: 'on' });
    const mine = new Set(ids);

    const ready = new Set<string>(); // onboarded, running, power on
    const changes = new Map<string, Change>();
    let lastHostEventAt = monoMs();
    const eventsByKind: Record<string, number> = {};
    // The changes made alone: host id → the power state awaited, and its resolver.
    const awaited = new Map<string, { state: string; resolve: (at: number) => void }>();
    let done = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    watch = await ResourceWatch.open(
      f.server.url,
      f.server.token,
      ['hosts', 'commands'],
      (e, at) => {
        eventsByKind[e.kind] = (eventsByKind[e.kind] ?? 0) + 1;
        if (e.type === 'DELETED') return;
        if (e.kind === 'Host' && mine.has(e.id)) {
          lastHostEventAt = at;
          const st = e.object.status as { currentState?: string; currentPowerState?: string; hostStatus?: { message?: string } };
          if (st.currentState === 'onboarded' && st.hostStatus?.message === 'running' && st.currentPowerState === 'on') ready.add(e.id);
          const w = awaited.get(e.id);
          if (w && st.currentPowerState === w.state) {
            awaited.delete(e.id);
            w.resolve(at);
          }
          const c = changes.get(e.id);
          if (!c) return;
          if (c.ownEventAt === undefined && (e.object.spec as { desiredPowerState?: string }).desiredPowerState === 'off') c.ownEventAt = at;
          if (c.offAt === undefined && st.currentPowerState === 'off') {
            c.offAt = at;
            done++;
            if (c.ackAt > 0) inFlight--;
          }
        } else if (e.kind === 'Command') {
          const spec = e.object.spec as { hostId?: string; type?: string; params?: { state?: string } };
          const c = spec.hostId ? changes.get(spec.hostId) : undefined;
          if (!c || spec.type !== 'power' || spec.params?.state !== 'off') return;
          c.commandAt ??= at;
          if ((e.object.status as { state?: string }).state === 'succeeded') c.commandDoneAt ??= at;
        }
      },
      await headRevision(f.admin),
    );

    process.stderr.write(`[power] starting ${o.hosts.toLocaleString('en-US')} nodes (commands ${o.provisionMs} ms, power ${o.provisionMs / 10} ms)\n`);
    sim = await SimProcess.spawn({ server: f.server.url, enrollmentToken: token, nodes: o.hosts, seed: SEED, heartbeatMs: o.heartbeatMs, provisionTimeMs: o.provisionMs, startRate: o.startRate, cpuProfDir: o.cpuProfDir, label: 'sim-power' });
    const s = sim;
    const allReady = await waitUntil(() => ready.size >= o.hosts, 180_000, () => `${ready.size} hosts onboarded, running and on`);
    if (!allReady) throw new Error(`only ${ready.size} of ${o.hosts} hosts became onboarded, running and powered on within 180 s`);
    http = new HttpClient(f.server.url, await clientTokens(f.server.url, f.server.token, 'editor', CLIENTS), CLIENTS);
    const client = http;
    // Enrolment's tail (hardware reports, status) drains first: 2 s without a Host event, at most 30 s.
    const settle = async () => {
      const end = monoMs() + 30_000;
      while (monoMs() - lastHostEventAt < 2000 && monoMs() < end) await sleep(100);
    };
    await settle();
    process.stderr.write(`[power] ${ALONE} changes alone (off, then on again, each awaited)\n`);
    const alone: number[] = [];
    for (let i = 0; i < Math.min(ALONE, ids.length); i++) {
      for (const state of ['off', 'on']) {
        const seen = new Promise<number>((resolve) => awaited.set(ids[i], { state, resolve }));
        await client.json('PATCH', `/v1/projects/default/hosts/${ids[i]}`, { spec: { desiredPowerState: state } }, 200);
        const ackAt = monoMs();
        const at = await Promise.race([seen, sleep(30_000).then(() => Number.NaN)]);
        if (Number.isNaN(at)) throw new Error(`host ${ids[i]} did not show power ${state} within 30 s of its PATCH`);
        if (state === 'off') alone.push(at - ackAt);
      }
    }
    const aloneD = distribution(alone);
    await settle();
    process.stderr.write(`[power] PATCH desiredPowerState=off on ${o.hosts.toLocaleString('en-US')} hosts, ${CLIENTS} at a time\n`);
    const cpu0 = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)];
    const writes0 = counterValue(await getText(`${f.server.url}/metrics`), 'eim_writes_total');
    const events0 = { ...eventsByKind };
    await f.server.sqlStats();
    const t0 = monoMs();
    let next = 0;
    let patchErrors = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = next++; i < ids.length; i = next++) {
          const change: Change = { sentAt: monoMs(), ackAt: 0 };
          changes.set(ids[i], change);
          const r = await client.send('PATCH', `/v1/projects/default/hosts/${ids[i]}`, { spec: { desiredPowerState: 'off' } }, c);
          if (r.status !== 200) {
            patchErrors++;
            changes.delete(ids[i]);
            continue;
          }
          change.ackAt = monoMs();
          if (change.offAt === undefined) maxInFlight = Math.max(maxInFlight, ++inFlight);
        }
      }),
    );
    const patchedS = (monoMs() - t0) / 1000;
    const complete = await waitUntil(() => done >= changes.size, 120_000, () => `${done} of ${changes.size} hosts show power off`);
    const tEnd = monoMs();
    const sqlRun = await f.server.sqlStats();
    const elapsedS = (tEnd - t0) / 1000;
    process.stderr.write(`[power] window (monotonic ms, for bench/profile-window.ts): --from ${Math.round(t0)} --to ${Math.round(tEnd)}\n`);
    const cpu = [cpuSecondsOf(f.server.pid), cpuSecondsOf(s.pid)].map((c, i) => (100 * (c - cpu0[i])) / elapsedS);
    const writes = counterValue(await getText(`${f.server.url}/metrics`), 'eim_writes_total') - writes0;
    const eventsIn = Object.entries(eventsByKind).map(([k, v]) => `${k} ${((v - (events0[k] ?? 0)) / o.hosts).toFixed(1)}`).join(', ');

    const list = [...changes.values()];
    const span = (from: (c: Change) => number | undefined, to: (c: Change) => number | undefined): Distribution =>
      distribution(list.flatMap((c) => {
        const a = from(c);
        const b = to(c);
        return a !== undefined && b !== undefined ? [b - a] : [];
      }));
    const total = span((c) => c.ackAt, (c) => c.offAt);
    const fromSend = span((c) => c.sentAt, (c) => c.offAt);
    const ack = span((c) => c.sentAt, (c) => c.ackAt);
    const own = span((c) => c.ackAt, (c) => c.ownEventAt);
    const toCmd = span((c) => c.ackAt, (c) => c.commandAt);
    const cmdRun = span((c) => c.commandAt, (c) => c.commandDoneAt);
    const toStatus = span((c) => c.commandDoneAt, (c) => c.offAt);
    const d = (x: Distribution) => `p50 ${fmt(x.p50)} / p99 ${fmt(x.p99)} / max ${fmt(x.max)} ms`;
    const n = o.hosts.toLocaleString('en-US');
    const rows: ResultRow[] = [
      {
        metric: `desired power off → command → status written, ${n} in flight: p99`,
        dialect: 'sqlite',
        value: total.p99,
        unit: 'ms',
        baseline: { value: aloneD.p99, label: `one change alone (p99 of ${aloneD.n}, before)` },
        target: { op: '<=', value: TARGET_MS, label: `${n} changes in flight` },
        unmet: complete && patchErrors === 0 ? undefined : `${done} of ${n} hosts reached power off (${patchErrors} PATCHes failed)`,
        notes: [
          `PATCH 200 → Host event with currentPowerState off: ${d(total)} (n ${total.n})`,
          `one change alone: ${d(aloneD)}`,
          `the PATCH's own event reached the watch ${d(own)} after its 200`,
          `from the PATCH's send: ${d(fromSend)}`,
          `all ${n} PATCHes answered in ${fmt(patchedS)} s (PATCH latency ${d(ack)}), up to ${maxInFlight.toLocaleString('en-US')} changes acknowledged and not yet done at once; all done ${fmt(elapsedS)} s after the first PATCH`,
          `simulated power command ${o.provisionMs / 10} ms`,
          `${fmt(writes / o.hosts)} store writes per change (${writes.toLocaleString('en-US')} in all; events per change: ${eventsIn})`,
          `CPU server ${pct(cpu[0])} (${fmt((cpu[0] * elapsedS * 10) / changes.size)} ms of server CPU per change), simulator ${pct(cpu[1])}`,
        ].join('; '),
      },
    ];
    const details = [
      `power, the changes: ${describeSqlStats(sqlRun, elapsedS)}`,
      `power: the changes ran from ${Math.round(t0)} to ${Math.round(tEnd)} ms on the monotonic clock (bench/profile-window.ts --from/--to)`,
      `power: where the time goes per host (Command events over the same watch): PATCH 200 → power Command created ${d(toCmd)}; Command created → succeeded (stream to the agent, ${o.provisionMs / 10} ms simulated, result POSTed) ${d(cmdRun)}; succeeded → Host currentPowerState off ${d(toStatus)}`,
    ];
    return { rows, details };
  } finally {
    http?.close();
    watch?.close();
    await sim?.stop();
    await f.close();
  }
}
