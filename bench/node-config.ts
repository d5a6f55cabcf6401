// The node-config benchmark (issue 14): the server (SQLite, managers in-process) and the fleet
// simulator, each in a child process on this machine; a site-level SSH key rotation timed until
// every agent applied and reported it and every host shows it applied, against a baseline measured
// in the same run. Flags: --hosts N (default 1000), --provision-ms N (simulated command time;
// a node config apply takes a twentieth; default 20), --no-md (leave BENCHMARKS.md alone).
import { parseBenchArgs } from './lib/bench-args.ts';
import { type ProgramResult, runBenchProgram } from './lib/bench-program.ts';
import { nodeConfigRows } from './lib/node-config-rotation.ts';

const USAGE = `usage: npm run bench:node-config -- [options]
  --hosts <n>          simulated agents (default 1000)
  --provision-ms <n>   simulated command time in ms; a node config apply takes a twentieth (default 20)
  --md / --no-md       write BENCHMARKS.md (default: only for a run with the defaults)`;
const args = parseBenchArgs('bench:node-config', USAGE, process.argv.slice(2), { hosts: { type: 'string' }, 'provision-ms': { type: 'string' } });
const hosts = args.flags.whole(args.values.hosts, 1000, '--hosts');
const provisionMs = Number(args.values['provision-ms'] ?? 20);
if (!(provisionMs >= 0)) args.flags.fail(`--provision-ms must be ≥ 0 (got "${args.values['provision-ms']}")`);
const o = { hosts, provisionMs, startRate: 500, heartbeatMs: 10_000 };

await runBenchProgram({
  file: 'bench/node-config.ts',
  section: 'Node configuration (issue 14)',
  command: args.command,
  writeMarkdown: args.writeMarkdown(args.anyGivenExcept()),
  async run(): Promise<ProgramResult> {
    const t = await nodeConfigRows(o);
    return {
      rows: t.rows,
      details: t.details,
      setup: [
        "Server: `startServer({ dataDir, port: 0, logLevel: 'warn' })` in a child process (`bench/lib/server-child.ts`): SQLite (synchronous=FULL), the resource managers (the node-config manager among them) in-process; a fresh store",
        `Simulator: \`FleetSimulator\` (the real agent code, simulated hardware and executor) in another child process (\`bench/lib/sim-child.ts\`), ${hosts.toLocaleString('en-US')} nodes started at ${o.startRate}/s, heartbeat every ${o.heartbeatMs / 1000} s, a node config apply takes ${provisionMs / 20} ms (simulated); the bench process watches over HTTP. All three share the 2 cores`,
      ],
      how: [
        `**Topology**: region europe, site paris in it, ${hosts.toLocaleString('en-US')} Hosts registered in paris (by uuid, onboarded). Round 1 (warm-up) creates a LocalAccount \`ops\` (one Ed25519 key, sudo nopasswd) targeting site paris; round 2, measured, PATCHes its sshKeys to a new key. Each round starts once every host is running with its stream open and Host events have had 2 s to drain.`,
        "**All agents applied and reported**: from the PATCH's 200 to the first stats line of the simulator child (every 20 ms, machine-wide monotonic clock) whose count of applied node configs has grown by the number of hosts (an agent counts an apply before it POSTs its report); node-config events received are counted the same way (once per agent expected).",
        "**All hosts show appliedVersion**: from the PATCH's 200 to the last Host event, on the bench's SSE watch (`?kinds=hosts`), whose `status.nodeConfig.appliedVersion` equals its new `status.nodeConfig.version`: the agent's report (POST /southbound/v1/node-config) is stored.",
        "**Baseline**: the same number of Host status writes (`PATCH …/hosts/{id}/status` with `lastSeenAt`, a manager token, 16 at a time) from the bench, to the last answer. The machine is shared with other engineers' work (five other helpers on 2 cores): figures are noisy.",
      ],
    };
  },
});
