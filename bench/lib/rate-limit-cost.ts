import type { Caller } from '../../src/api/index.ts';
import { RateLimiter } from '../../src/server/rate-limiter.ts';
import { clientTokens } from './client-tokens.ts';
import { closedLoop, type ClosedLoopResult } from './closed-loop.ts';
import { monoMs } from './clock.ts';
import { HttpClient } from './http-client.ts';
import { cpuWhile } from './proc-stats.ts';
import { fmt, fmtRatio, type ResultRow } from './result-row.ts';
import { median, pct, runNotes } from './row-notes.ts';
import { runTag } from './sample-host.ts';
import { ServerProcess } from './server-process.ts';
import { freshTarget, type StoreTarget } from './store-target.ts';
import { httpWriter, type Writer } from './writer.ts';

const CLIENTS = 16;
const MAX_COST = 0.05;

export interface RateLimitCostOptions {
  runs: number;
  warmupMs: number;
  durationMs: number;
  cpuProfDir?: string;
}

interface Side {
  label: 'on' | 'off';
  server: ServerProcess;
  target: StoreTarget;
  writer: Writer;
  client: HttpClient;
  runs: { result: ClosedLoopResult; cpu: number }[];
}

/** ns per `RateLimiter.take` for 16 callers in turn: the limiter's own cost, without HTTP around it. */
function takeCostNs(): number {
  const limiter = new RateLimiter({ rps: 1e9 }); // never refuses: the cost of a granted request
  const callers: Caller[] = Array.from({ length: CLIENTS }, (_, i) => ({ subject: `c${i}`, tokenId: `t${i}`, grants: [{ project: 'default', role: 'editor' }] }));
  const n = 2_000_000;
  for (let i = 0; i < 100_000; i++) limiter.take(callers[i % CLIENTS]);
  const t0 = monoMs();
  for (let i = 0; i < n; i++) limiter.take(callers[i % CLIENTS]);
  return ((monoMs() - t0) * 1e6) / n;
}

/**
 * What the per-token rate limiter costs in write throughput: HTTP creates from 16 clients (a token
 * each) against two servers in child processes (Inventory alone, SQLite), one with the default
 * limit (1,000/s per token, far above what a client reaches here, so nothing is refused and only
 * the bookkeeping is measured) and one with `rateLimitRps: 0`. Runs alternate on, off, off, on, …
 * so drift in the machine's fsync speed falls on both alike.
 * @example const { rows } = await rateLimitCostRows({ runs: 3, warmupMs: 1000, durationMs: 5000 })
 */
export async function rateLimitCostRows(o: RateLimitCostOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  const sides: Side[] = [];
  try {
    for (const label of ['on', 'off'] as const) {
      const target = await freshTarget('sqlite');
      const server = await ServerProcess.spawn({ dataDir: target.dataDir, managers: 'none', label: `ratelimit-${label}`, cpuProfDir: o.cpuProfDir, server: label === 'off' ? { rateLimitRps: 0 } : {} });
      const client = new HttpClient(server.url, await clientTokens(server.url, server.token, 'editor', CLIENTS), CLIENTS);
      sides.push({ label, server, target, client, writer: httpWriter(client), runs: [] });
    }
    const tag = runTag();
    // One untimed run on each server first: the first measured run would otherwise also pay for JIT warm-up.
    for (const side of sides) {
      await closedLoop({ clients: CLIENTS, warmupMs: 0, durationMs: Math.max(1000, o.warmupMs), op: (c, seq) => side.writer.create(`${tag}-warm-${side.label}-${c}-${seq}`, c).then(() => undefined) });
    }
    // on, off, off, on, on, off, …: each side goes first as often as second.
    const order = Array.from({ length: 2 * o.runs }, (_, i) => sides[(i % 4 === 0 || i % 4 === 3) ? 0 : 1]);
    for (const [i, side] of order.entries()) {
      process.stderr.write(`[ratelimit] run ${i + 1}/${order.length}: limiter ${side.label}\n`);
      const { value, cpu } = await cpuWhile([side.server.pid], () =>
        closedLoop({
          clients: CLIENTS,
          warmupMs: o.warmupMs,
          durationMs: o.durationMs,
          op: async (c, seq) => {
            await side.writer.create(`${tag}-${i}-${c}-${seq}`, c);
          },
        }),
      );
      if (value.errors > 0) throw new Error(`limiter ${side.label}: ${value.errors} failed creates (first: ${value.firstError})`);
      side.runs.push({ result: value, cpu: cpu[0] });
    }
    const [on, off] = sides;
    const rate = (s: Side) => median(s.runs.map((r) => r.result.rate));
    const onRate = rate(on);
    const offRate = rate(off);
    const ns = takeCostNs();
    const midRun = (s: Side) => s.runs.find((r) => r.result.rate === rate(s))!;
    // Server CPU per create is steadier than the rate on a shared machine: other work slows a run
    // down (fewer writes/s) without making each write cost the server more.
    const usPerWrite = (r: Side['runs'][number]) => ((r.cpu / 100) * 1e6) / r.result.rate;
    const cpuPerWrite = (s: Side) => median(s.runs.map(usPerWrite));
    const each = (s: Side) => s.runs.map((r) => fmt(r.result.rate)).join(', ');
    // Runs i of each side ran next to each other (on, off, off, on, …): their ratio cancels slow drift.
    const paired = median(on.runs.map((r, i) => r.result.rate / off.runs[i].result.rate));
    const rows: ResultRow[] = [
      {
        metric: `create, HTTP, ${CLIENTS} clients, rate limit off (baseline)`,
        dialect: 'sqlite',
        value: offRate,
        unit: 'writes/s',
        notes: runNotes(midRun(off).result, [`median of ${off.runs.length}: ${each(off)}`, `server CPU ${pct(midRun(off).cpu)}`, `server CPU per create ${fmt(cpuPerWrite(off))} µs (median of runs)`]),
      },
      {
        metric: `create, HTTP, ${CLIENTS} clients, rate limit on (default 1,000/s per token)`,
        dialect: 'sqlite',
        value: onRate,
        unit: 'writes/s',
        baseline: { value: offRate, label: 'limit off' },
        target: { op: '>=', value: offRate * (1 - MAX_COST), label: '95 % of limit off' },
        notes: runNotes(midRun(on).result, [
          `median of ${on.runs.length}: ${each(on)}`,
          `adjacent on/off runs' ratio, median: ${fmtRatio(paired)}`,
          `server CPU ${pct(midRun(on).cpu)}`,
          `server CPU per create ${fmt(cpuPerWrite(on))} µs (median of runs; ${fmtRatio(cpuPerWrite(on) / cpuPerWrite(off))} of limit off)`,
          `RateLimiter.take alone: ${fmt(ns)} ns per request in-process, ${((100 * ns) / 1000 / cpuPerWrite(on)).toFixed(3)} % of that`,
        ]),
      },
    ];
    const details = order.map((side, i) => {
      const r = side.runs[order.slice(0, i).filter((x) => x === side).length];
      return `run ${i + 1}, limiter ${side.label}: ${fmt(r.result.rate)} writes/s, p50 ${fmt(r.result.latency.p50)} ms, p99 ${fmt(r.result.latency.p99)} ms, server CPU ${pct(r.cpu)} (${fmt(usPerWrite(r))} µs per create)`;
    });
    return { rows, details };
  } finally {
    for (const s of sides) {
      s.client.close();
      await s.server.stop();
      await s.target.remove();
    }
  }
}
