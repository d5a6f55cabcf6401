// Runs eim's fleet simulator (src/sim/fleet-simulator.ts) for the benchmark in its own process, so
// that the nodes neither share the server's event loop nor the bench's. Argument: JSON
// { server, enrollmentToken, nodes, seed?, heartbeatMs?, provisionTimeMs?, startRate?, reportMs? }.
// Writes JSON lines on stdout, times on the machine-wide monotonic clock (bench/lib/clock.ts):
//   { type: 'starting', at }                  right before FleetSimulator.start()
//   { type: 'started', at }                   when every node has been started (start() resolved)
//   { type: 'stats', at, ...FleetStats, rssMb, peakMb, heapMb, loopP99Ms, warnings, firstWarnings,
//     poolQueuedMax, poolSockets }           every reportMs (default 2000)
//   { type: 'stopped', at }                   after SIGTERM, SIGINT or the parent going away
import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { monoMs } from './clock.ts';
import { memoryOf } from './proc-stats.ts';
import type { SimChildOptions } from './sim-process.ts';
import { boundHeapGrowth, heapGrowthFromEnv } from '../../src/cli/heap-growth.ts';

const o = JSON.parse(process.argv[2] ?? '{}') as SimChildOptions;
const { FleetSimulator } = await import('../../src/sim/fleet-simulator.ts');
// The heap's growth as `eim server` / `eim sim` set it (EIM_HEAP_GROWTH, else the default).
boundHeapGrowth(heapGrowthFromEnv());
const say = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);

// Agents' warnings and errors, counted by kind (the text after the node's name, digits folded).
const warnings: Record<string, number> = {};
let warningCount = 0;
const note = (m: string) => {
  warningCount++;
  const key = m.replace(/^[^:]*: /, '').replace(/host-[0-9a-f]+/g, 'host-ID').replace(/\d+(\.\d+)?/g, 'N').slice(0, 120);
  warnings[key] = (warnings[key] ?? 0) + 1;
};
const sim = new FleetSimulator({
  server: o.server,
  enrollmentToken: o.enrollmentToken,
  nodes: o.nodes,
  seed: o.seed,
  heartbeatMs: o.heartbeatMs,
  provisionTimeMs: o.provisionTimeMs,
  startRate: o.startRate,
  log: { info() {}, warn: note, error: note },
});

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
// The simulator's shared keep-alive pool (heartbeats, status, hardware, command results; a private
// field, read here for diagnosis only): requests waiting for one of its sockets, sampled every 100 ms.
const pool = (sim as unknown as { pool: http.Agent }).pool;
const count = (m: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(m).reduce((n, a) => n + (a?.length ?? 0), 0);
let poolQueuedMax = 0;
const sampler = setInterval(() => (poolQueuedMax = Math.max(poolQueuedMax, count(pool.requests))), 100);
const report = () => {
  const mem = memoryOf(process.pid);
  const top = Object.entries(warnings).sort((a, b) => b[1] - a[1]).slice(0, 5);
  say({ type: 'stats', at: monoMs(), ...sim.stats(), rssMb: mem.rssMb, peakMb: mem.peakMb, heapMb: process.memoryUsage().heapUsed / 2 ** 20, loopP99Ms: loop.percentile(99) / 1e6, warnings: warningCount, firstWarnings: Object.fromEntries(top), poolQueuedMax, poolSockets: count(pool.sockets) });
  loop.reset();
  poolQueuedMax = 0;
};
const timer = setInterval(report, o.reportMs ?? 2000);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  clearInterval(sampler);
  report();
  sim.stop().finally(() => {
    say({ type: 'stopped', at: monoMs() });
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);

say({ type: 'starting', at: monoMs() });
await sim.start();
say({ type: 'started', at: monoMs() });
