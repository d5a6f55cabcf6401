import type { BenchDialect, BenchOptions } from './bench-options.ts';
import { clientTokens } from './client-tokens.ts';
import { HttpClient } from './http-client.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { pct, runNotes } from './row-notes.ts';
import { ServerProcess } from './server-process.ts';
import { freshTarget } from './store-target.ts';
import { watchLatency } from './watch-latency.ts';
import { type WriteRun, writeThroughput } from './write-throughput.ts';
import { httpWriter } from './writer.ts';
import { closedLoop } from './closed-loop.ts';
import { cpuWhile, machineNote } from './proc-stats.ts';
import { WatcherPool } from './watcher-pool.ts';

const HTTP_TARGET: Record<BenchDialect, number> = { sqlite: 5000, postgres: 2000 };
const WATCH_P99_TARGET_MS = 20;
/** Issue 10: 16 clients creating over HTTP while 10 watchers follow every event. */
const WITH_WATCHERS = { watchers: 10, rate: { sqlite: 8000, postgres: 5000 } as Record<BenchDialect, number>, p99Ms: 15 };

/**
 * 16 closed-loop HTTP clients creating Hosts while 10 SSE watchers (in child processes) follow every
 * event; compared with the same run's 16 clients without watchers. Every watcher must receive every
 * event of the window.
 */
async function createsWithWatchers(server: ServerProcess, dialect: BenchDialect, o: Readonly<BenchOptions>, withoutRate: number, tag: string): Promise<ResultRow> {
  process.stderr.write(`[${dialect}] HTTP creates, 16 clients, with ${WITH_WATCHERS.watchers} watchers\n`);
  const pool = await WatcherPool.open(server.url, server.token, WITH_WATCHERS.watchers, o.watcherProcs);
  const client = new HttpClient(server.url, await clientTokens(server.url, server.token, 'editor', 16), 16);
  try {
    const writer = httpWriter(client);
    let last = 0;
    const run = await cpuWhile([server.pid, process.pid, ...pool.pids], () =>
      closedLoop({
        clients: 16,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
        label: 'create, 16 clients, with watchers',
        op: async (c, seq) => {
          const r = await writer.create(`${tag}-w-${c}-${seq}`, c);
          last = Math.max(last, r.revision ?? 0);
        },
      }),
    );
    // Every watcher catches up with the last write (bounded: a watcher that fell behind shows here).
    const deadline = Date.now() + 30_000;
    let lowest = await pool.lowest();
    while (lowest < last && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      lowest = await pool.lowest();
    }
    const r = run.value;
    const p99 = r.latency.p99;
    return {
      metric: `create, HTTP, 16 clients, ${WITH_WATCHERS.watchers} SSE watchers following every event`,
      dialect,
      value: r.rate,
      unit: 'writes/s',
      baseline: { value: withoutRate, label: 'the same 16 clients without watchers, just before' },
      target: { op: '>=', value: WITH_WATCHERS.rate[dialect], label: `and p99 ≤ ${WITH_WATCHERS.p99Ms} ms` },
      ...(p99 > WITH_WATCHERS.p99Ms ? { unmet: `p99 ${fmt(p99)} ms > ${WITH_WATCHERS.p99Ms} ms; ${fmt(r.rate)} writes/s is ${fmt(r.rate / WITH_WATCHERS.rate[dialect])}× the rate target` } : {}),
      notes: runNotes(r, [
        lowest >= last ? `every watcher received every event (up to revision ${last})` : `a watcher was still at revision ${lowest} of ${last} 30 s later`,
        `CPU server ${pct(run.cpu[0])}, loadgen ${pct(run.cpu[1])}, watchers ${pct(run.cpu.slice(2).reduce((a, b) => a + b, 0))}; ${machineNote(run.machine)}`,
      ]),
    };
  } finally {
    client.close();
    pool.close();
  }
}

/**
 * Writes over HTTP (closed loop, 16-socket keep-alive agent), then commit → watcher latency, both
 * against one server in a child process on a fresh store.
 * @example const rows = await httpScenario('postgres', options, [1, 16], inProcessRates, tag)
 */
export async function httpScenario(dialect: BenchDialect, o: Readonly<BenchOptions>, clientCounts: number[], inProcess: Map<string, number>, tag: string): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const target = await freshTarget(dialect);
  try {
    // The per-token request limit (1,000/s by default) is a policy, not capacity: one client alone
    // outruns it here. Its cost is measured by bench:access ("Rate limiting cost").
    const server = await ServerProcess.spawn({ dataDir: target.dataDir, store: target.store, managers: o.managers, label: `${dialect}-http`, cpuProfDir: o.cpuProfDir, server: { rateLimitRps: 0 } });
    try {
      if (o.scenarios.includes('http')) {
        process.stderr.write(`[${dialect}] HTTP writes\n`);
        const client = new HttpClient(server.url, await clientTokens(server.url, server.token, 'editor', Math.max(...clientCounts)), 16);
        let runs: WriteRun[];
        try {
          runs = await writeThroughput({ writer: httpWriter(client), clientCounts, warmupMs: o.warmupMs, durationMs: o.durationMs, tag, cpuPids: [server.pid, process.pid] });
        } finally {
          client.close();
        }
        for (const run of runs) {
          const base = inProcess.get(`${run.op}/${run.clients}`);
          rows.push({
            metric: `${run.op}, HTTP, ${run.clients} client${run.clients > 1 ? 's' : ''}`,
            dialect,
            value: run.result.rate,
            unit: 'writes/s',
            baseline: base ? { value: base, label: 'in-process' } : undefined,
            target: run.clients === 16 ? { op: '>=', value: HTTP_TARGET[dialect], label: '' } : undefined,
            notes: runNotes(run.result, [`server CPU ${pct(run.cpu[0])}`, `loadgen CPU ${pct(run.cpu[1])}`, machineNote(run.machine)]),
          });
        }
        const without = runs.find((r) => r.op === 'create' && r.clients === 16);
        if (without) rows.push(await createsWithWatchers(server, dialect, o, without.result.rate, tag));
      }
      if (o.scenarios.includes('watch')) {
        let first: number | undefined;
        for (const watchers of o.watcherCounts) {
          process.stderr.write(`[${dialect}] watch latency: ${watchers} watchers, ${o.watchRate} writes/s\n`);
          const r = await watchLatency({ server, watchers, watcherProcs: o.watcherProcs, rate: o.watchRate, warmupMs: o.warmupMs, durationMs: o.durationMs, tag });
          rows.push({
            metric: `watch p99 (recv − 201), ${watchers} watchers @ ${o.watchRate}/s`,
            dialect,
            value: r.afterAck.p99,
            unit: 'ms',
            baseline: first !== undefined ? { value: first, label: `with ${o.watcherCounts[0]} watchers` } : undefined,
            target: watchers >= 100 ? { op: '<=', value: WATCH_P99_TARGET_MS, label: `at ${o.watchRate} writes/s` } : undefined,
            unmet: watchers >= 100 && r.achievedRate < 0.95 * o.watchRate ? `the server took only ${fmt(r.achievedRate)} of ${o.watchRate} writes/s; p99 ${fmt(r.afterAck.p99 / WATCH_P99_TARGET_MS)}× target there` : undefined,
            notes: [
              `recv−201 p50 ${fmt(r.afterAck.p50)} / max ${fmt(r.afterAck.max)} ms`,
              `recv−send p50 ${fmt(r.afterSend.p50)} / p99 ${fmt(r.afterSend.p99)} / max ${fmt(r.afterSend.max)} ms`,
              `201 p99 ${fmt(r.writeLatency.p99)} ms`,
              `achieved ${fmt(r.achievedRate)} writes/s`,
              `delivered ${r.delivered.toLocaleString('en-US')}/${r.expected.toLocaleString('en-US')}`,
              ...(r.skipped > 0 ? [`${r.skipped.toLocaleString('en-US')} sends skipped (1 s of writes unanswered)`] : []),
              ...(r.writeErrors > 0 ? [`${r.writeErrors} write errors`] : []),
              `CPU server ${pct(r.cpu.server)}, watchers ${pct(r.cpu.watchers)}, writer ${pct(r.cpu.writer)}`,
            ].join('; '),
          });
          first ??= r.afterAck.p99;
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    await target.remove();
  }
  return rows;
}
