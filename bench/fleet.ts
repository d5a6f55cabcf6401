// The fleet benchmark (issue 4): the server (SQLite, managers in-process) and the fleet simulator,
// each in a child process on this machine: 10,000 nodes heartbeating, 1,000 hosts from registered
// to running, and desired power changes through agent commands back to status, each against a
// baseline measured in the same run. `npm run bench:fleet -- --help` lists the flags.
import { heartbeatRows } from './lib/fleet-heartbeats.ts';
import { compileFleetOptions } from './lib/fleet-options.ts';
import { powerRows } from './lib/fleet-power.ts';
import { provisionRows } from './lib/fleet-provision.ts';
import { runScenarioProgram } from './lib/scenario-program.ts';
import { scaleOutRows } from './fleet-scale-out.ts';

const o = compileFleetOptions(process.argv.slice(2));

await runScenarioProgram(o, {
  file: 'bench/fleet.ts',
  // A heartbeat run of another size (issue 10's 20,000 nodes) keeps its own section beside the default one.
  section: o.nodes === 10_000 ? 'Fleet (issue 4)' : `Fleet (issue 4): ${o.nodes.toLocaleString('en-US')} nodes`,
  setup: [
    o.managerWorkers
      ? `Server: \`startServer({ dataDir, port: 0, logLevel: 'warn', managers: 'none' })\` in a child process (\`bench/lib/server-child.ts\`), with \`startManagers(…, { workers: ${o.managerWorkers} })\` in the same process (an experiment: startServer runs them with its default worker count); SQLite (synchronous=FULL); a fresh store per scenario`
      : "Server: `startServer({ dataDir, port: 0, logLevel: 'warn' })` in a child process (`bench/lib/server-child.ts`): SQLite (synchronous=FULL), the resource managers in-process (the server's default); a fresh store per scenario",
    'Simulator: `FleetSimulator` (src/sim/fleet-simulator.ts: the real agent code, simulated hardware and executor) in another child process (`bench/lib/sim-child.ts`); the bench process watches and probes over HTTP. All three share the 2 cores',
    `Scenarios: ${o.scenarios.join(', ')}; heartbeat run: ${o.nodes.toLocaleString('en-US')} nodes, heartbeat every ${o.heartbeatMs / 1000} s, started at ${o.hbStartRate}/s, ${o.durationMs / 1000} s measured; provisioning and power runs: ${o.hosts.toLocaleString('en-US')} hosts, nodes started at ${o.startRate}/s`,
  ],
  scenarios: {
    heartbeats: {
      run: () => heartbeatRows({ nodes: o.nodes, heartbeatMs: o.heartbeatMs, durationMs: o.durationMs, rampMs: o.rampMs, autoRegister: o.autoRegister, startRate: o.hbStartRate, cpuProfDir: o.cpuProfDir, sqlStats: o.sqlStats, managerWorkers: o.managerWorkers }),
      how: `**Heartbeats**: ${o.autoRegister ? 'an enrollment token made with \`autoRegister\`, so each simulated node registers its own Host on enrolment (nothing registered first)' : "the Hosts are registered first over HTTP by the uuid of \`simIdentity('hb', i)\` (desiredState onboarded; 16 editors), and each node's enrolment matches its own (an enrollment token without autoRegister)"}. The window of ${o.durationMs / 1000} s starts once every Host's \`status.hostStatus.message\` is "running" (or after ${o.rampMs / 1000} s of ramp, which then counts as a miss). "no connection" is counted from Host events on one SSE watch (\`?kinds=hosts\`) opened before the nodes start, as hosts whose hostStatus became "no connection"; every node keeps heartbeating, so any is false; a filtered list (\`status.hostStatus.message = "no connection"\`) cross-checks at the end. Heartbeat handling is the server's own histogram \`eim_http_request_duration_seconds{route="/southbound/v1/heartbeat"}\` (Fastify's reply time, from request parsed to reply sent), scraped from \`/metrics\` before and after the window; its p99 is interpolated inside the bucket that holds it, as Prometheus's histogram_quantile does, and "≤ 50 ms" is decided exactly (50 ms is a bucket bound). A probe in the bench process (an agent enrolled for it) sends a heartbeat and a \`GET /healthz\` every 250 ms, timed from outside: that includes waiting for the server's event loop, which the histogram does not. RSS is VmRSS/VmHWM from /proc.`,
    },
    provision: {
      run: () => provisionRows({ hosts: o.hosts, provisionMs: o.provisionMs, startRate: o.startRate, heartbeatMs: o.heartbeatMs, cpuProfDir: o.cpuProfDir, sqlStats: o.sqlStats, managerWorkers: o.managerWorkers }),
      how: `**Registered → running**: an OS profile labelled default=true; ${o.hosts.toLocaleString('en-US')} Hosts registered over HTTP by the uuid of \`simIdentity('prov', i)\`, desiredState onboarded, autoProvision; an enrollment token without autoRegister. Then the simulator starts the nodes (${o.startRate}/s, install ${o.provisionMs / 1000} s); the time runs from its \`start()\` until the last Instance event with \`status.currentState\` running (one SSE watch on hosts and instances). The baseline is what the simulator alone needs: the time it took to start every node plus one install.`,
    },
    power: {
      run: () => powerRows({ hosts: o.hosts, provisionMs: o.powerProvisionMs, startRate: o.startRate, heartbeatMs: o.heartbeatMs, cpuProfDir: o.cpuProfDir, sqlStats: o.sqlStats, managerWorkers: o.managerWorkers }),
      how: `**Desired state → status**: ${o.hosts.toLocaleString('en-US')} Hosts registered (onboarded, desiredPowerState on), their nodes started with ${o.powerProvisionMs} ms simulated commands (power takes a tenth); once every Host is onboarded, running and currentPowerState on, and Host events have been quiet for 2 s, 16 clients (an editor token each) PATCH \`spec.desiredPowerState\` to off on every host as fast as the server answers. Per host: from the PATCH's 200 to the first Host event with \`status.currentPowerState\` off on the bench's SSE watch (hosts and commands). The baseline is the same watch's delivery of the PATCH's own event, the floor for anything that follows a write.`,
    },
    'scale-out': {
      run: () => scaleOutRows({ nodes: o.scaleNodes, heartbeatMs: o.heartbeatMs, startRate: o.hbStartRate, costHosts: 10_000 }),
      how: `**Scale-out** (bench/fleet-scale-out.ts): three \`eim server --store postgres://…\` processes on one fresh database, the simulator (one child) given the three URLs (node i starts on server i mod 3, moves on when its server cannot be reached), ${o.scaleNodes.toLocaleString('en-US')} nodes auto-registered at ${o.hbStartRate}/s (--hb-start-rate). Once all show running, each server is restarted in turn (SIGTERM, the same command again), then one is killed with SIGKILL; 20 desired power changes are PATCHed during each restart and after the kill. False "no connection": hosts with any Host event whose hostStatus is not running since the first restart (every node keeps heartbeating). Reconnect: from the kill until every node's lease row was renewed by a surviving server (PostgreSQL, polled every 250 ms; rows are flushed every 2 s). Commands: power commands created in that time whose status reached succeeded (from the Command events). The lease and lastSeenAt costs are in-process on a fresh store of each kind with 10,000 Hosts: one flush of 2,000 heartbeats (10,000 hosts at 10 s, 2 s of them) as LeaseStore.renew does it, and a minute's lastSeenAt writes (each host once, 256 in flight through the Inventory, as the lease judge sends them).`,
    },
  },
});