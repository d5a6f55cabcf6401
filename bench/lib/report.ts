import type { BenchOptions } from './bench-options.ts';
import { heapGrowthFromEnv } from '../../src/cli/heap-growth.ts';
import { THROUGH_TSX } from './bundle.mjs';
import type { MachineInfo } from './machine-info.ts';
import { markdownTable } from './result-table.ts';
import type { ResultRow } from './result-row.ts';

export interface Report {
  options: Readonly<BenchOptions>;
  machine: MachineInfo;
  rows: ResultRow[];
  details: string[];
  startedAt: Date;
  seconds: number;
  loadAvgAtEnd: number;
  /** The source measured (sourceLine of bench-program.ts). */
  source?: string;
}

/**
 * What the numbers were measured on, for a report's "Machine:" line: CPU, RAM, OS, Node and how
 * the code ran (bundled or not, the heap's growth), load.
 * @example `- Machine: ${machineLine(machine, loadavg()[0])}`
 */
export function machineLine(m: MachineInfo, loadAvgAtEnd: number): string {
  const code = THROUGH_TSX ? 'TypeScript through tsx (EIM_BENCH_TSX=1)' : 'code bundled by esbuild, as the product runs (bench/run.mjs)';
  const growth = heapGrowthFromEnv();
  const heap = `the servers and simulators it starts with heap growth ${growth === 0 ? "V8's own" : `${growth} %`} (EIM_HEAP_GROWTH)`;
  return `${m.cpu}, ${m.cores} cores, ${m.ramGb.toFixed(1)} GiB RAM, ${m.os}; Node ${m.node}, ${code}, ${heap}; 1-min load average ${m.loadAvg.toFixed(1)} at the start and ${loadAvgAtEnd.toFixed(1)} at the end (other work on the machine skews every number)`;
}

/**
 * The BENCHMARKS.md section body: when, where, how, the table, and what the table has no room for.
 * @example writeSection('BENCHMARKS.md', 'Inventory (issue 2)', reportMarkdown(report))
 */
export function reportMarkdown(r: Report): string {
  const m = r.machine;
  const o = r.options;
  return `Produced by \`bench/inventory.ts\`; every number below is from one run of the command shown (the program writes this section).

- Date: ${r.startedAt.toISOString()} (run took ${Math.round(r.seconds)} s)
- Command: \`${o.command}\`
- Machine: ${machineLine(m, r.loadAvgAtEnd)}
- Source: ${r.source ?? 'not recorded'}
- PostgreSQL: ${m.postgres ?? 'not measured'}${m.postgresDurability ? ` (${m.postgresDurability}), on the same machine` : ''}
- Server: \`startServer({ dataDir, port: 0, store, logLevel: 'warn'${o.managers === 'none' ? ", managers: 'none'" : ''}, rateLimitRps: 0 })\` in a child process for the HTTP and watch runs (the per-token request limit off: one client alone outruns its 1,000/s; its cost is in the "Access and tools" section) (${o.managers === 'none' ? 'the Inventory alone: no resource managers reconciling the Hosts the benchmark writes' : "with the resource managers in-process, the server's default"}); every load-generating client has a token of its own, since the server limits requests and watches per token
- Runs: ${o.durationMs / 1000} s measured after ${o.warmupMs / 1000} s warm-up; dialects: ${o.dialects.join(', ')}; scenarios: ${o.scenarios.join(', ')}

${markdownTable(r.rows)}
How each number is taken:

- **Baselines** run in the same process and run, into a table shaped like \`eim_resources\`: better-sqlite3 with WAL and \`synchronous = FULL\` (the store's default durability), one row per transaction, one writer (better-sqlite3 is synchronous); pg single-row INSERTs in autocommit from 1 and 16 connections. Each baseline run happens right before the in-process run it is compared with (the disk's fsync speed drifts with other work on the machine); the baseline rows show the median and every run.
- **Writes/s** are closed loops (each client sends its next write when the previous one is answered): Host creates, then JSON merge patches of one label over 1,000 of those Hosts. In-process goes through \`InventoryService.as({ subject: 'bench', grants: [{ project: '*', role: 'admin' }] })\`; HTTP goes to a server in a child process (\`bench/lib/server-child.ts\`) through one keep-alive \`http.Agent\` (maxSockets 16) from the bench process. A write counts when it started and was acknowledged inside the measured window. HTTP rows compare against the in-process rate; CPU is % of one core from \`/proc/<pid>/stat\`.
- **Watch latency**: SSE watchers on \`GET /v1/projects/default/watch\`, spread over ${o.watcherProcs} child processes; the bench process creates Hosts over HTTP at a paced ${o.watchRate}/s (open loop; sends are skipped, and counted, while a second's worth are unanswered). Times are CLOCK_MONOTONIC (\`process.hrtime\`), one clock for all processes; revisions (SSE \`id:\` and the 201 body) join watcher and writer. "recv − 201" is receive time minus the writer's acknowledgement (it can be slightly negative: the server may flush the SSE frame before the 201); "recv − send" counts from the scheduled send time, so it includes any queueing when the server cannot take ${o.watchRate} writes/s. The target is defined at ${o.watchRate} writes/s, so it counts as missed when the server did not sustain 95 % of that rate, whatever the p99.
- **Restart**: the server is started 4 times on an empty store (the first start, which creates the key and admin token, is not counted) for the baseline; then ${o.resources.toLocaleString('en-US')} Hosts are created in-process (256 concurrent), a server is started on that store, and 3 times: 16 HTTP writers create Hosts for ${Math.min(2, o.durationMs / 1000)} s, the server gets SIGKILL mid-flight, a new one is spawned and timed until \`GET /readyz\` answers 200 and \`GET /v1/projects/default/hosts\` answers. Each server is started as an operator starts it, \`node bin/eim.js server --port 0 --data-dir … [--store …] --managers none\`, which runs the esbuild bundle in dist/ (the benchmark builds it first when it is older than src/); the time includes starting node and loading the bundle. Every create acknowledged before a kill is then looked up by name.
- **RSS**: \`VmRSS\` of the last restarted server from \`/proc/<pid>/status\` with 100 SSE watches open, after writes fanned out to them.

${r.details.length > 0 ? `Start-up breakdown:\n\n${r.details.join('\n')}\n` : ''}`;
}
