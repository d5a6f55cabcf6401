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

const HTTP_TARGET: Record<BenchDialect, number> = { sqlite: 5000, postgres: 2000 };
const WATCH_P99_TARGET_MS = 20;

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
            notes: runNotes(run.result, [`server CPU ${pct(run.cpu[0])}`, `loadgen CPU ${pct(run.cpu[1])}`]),
          });
        }
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
