import { parseBenchArgs } from './bench-args.ts';

export const FLEET_SCENARIOS = ['heartbeats', 'provision', 'power', 'scale-out'] as const;
export type FleetScenario = (typeof FLEET_SCENARIOS)[number];

export interface FleetOptions {
  scenarios: FleetScenario[];
  /** Simulated nodes of the heartbeat run. @default 10000 (1000 with --quick) */
  nodes: number;
  /** The heartbeat run's measured window, after every node shows running. @default 300000 (60000 with --quick) */
  durationMs: number;
  /** Longest wait for the nodes to enrol and show running before the window starts anyway. @default 240000 */
  rampMs: number;
  /** Nodes register themselves (autoRegister enrollment token) instead of matching Hosts registered first. @default false */
  autoRegister: boolean;
  /** Heartbeat interval of the simulated nodes. @default 10000 */
  heartbeatMs: number;
  /** Hosts of the provisioning and power runs. @default 1000 */
  hosts: number;
  /** Simulated OS install time of the provisioning run. @default 2000 */
  provisionMs: number;
  /** Simulated command time in the power run (power takes a tenth). @default 20 */
  powerProvisionMs: number;
  /** Nodes the simulator starts per second in the provisioning and power runs. @default 1000 */
  startRate: number;
  /**
   * Nodes started per second in the heartbeat run. @default 1000: a site's machines powering on at
   * once (issue 10's enrolment storm; the server sheds what it cannot take with 429 and Retry-After)
   */
  hbStartRate: number;
  cpuProfDir?: string;
  /** Time every SQLite statement in the server children and report the heaviest. @default false */
  sqlStats: boolean;
  /** Workers per resource manager in the server children (an experiment); startServer's default when absent. */
  managerWorkers?: number;
  /** Descriptors of the listening socket in the server children (startServer's `acceptors`); its default when absent. */
  acceptors?: number;
  /** Nodes of the scale-out run (bench/fleet-scale-out.ts). @default 3000 */
  scaleNodes: number;
  writeMarkdown: boolean;
  command: string;
}

const USAGE = `usage: npm run bench:fleet -- [options]
  --scenario <name>             ${FLEET_SCENARIOS.join('|')} (repeatable; default all)
  --quick                       1,000 nodes for 60 s in the heartbeat run (default 10,000 for 300 s)
  --nodes <n>                   simulated nodes of the heartbeat run
  --duration <s>                the heartbeat run's measured window (after all nodes show running)
  --ramp <s>                    longest wait for them to show running first (default 240)
  --auto-register               heartbeat run: nodes register themselves (autoRegister enrollment
                                token) instead of matching Hosts registered by uuid first
  --heartbeat <s>               heartbeat interval (default 10)
  --hosts <n>                   hosts of the provisioning and power runs (default 1000)
  --provision <s>               simulated install time in the provisioning run (default 2)
  --power-provision <s>         simulated command time in the power run; power takes a tenth (default 0.02)
  --start-rate <n>              nodes started per second in those runs (default 1000)
  --hb-start-rate <n>           nodes started per second in the heartbeat run (default 1000: an
                                enrolment storm; the simulator's own default is 500)
  --cpu-prof <dir>              the server and simulator children run with node --cpu-prof into <dir>
  --sql-stats                   time every SQLite statement in the servers; report the heaviest
  --manager-workers <n>         the servers' in-process managers with n workers each (an experiment;
                                default: as startServer runs them)
  --acceptors <n>               the servers watch their listening socket through n descriptors
                                (1: the server's own only, as before; default: startServer's)
  --scale-nodes <n>             nodes of the scale-out run, spread across 3 servers on PostgreSQL (default 3000)
  --md / --no-md                write BENCHMARKS.md (default: only for a full run)`;

/**
 * Parses bench:fleet's command line into frozen options.
 * @example compileFleetOptions(['--quick'])
 */
export function compileFleetOptions(argv: string[]): Readonly<FleetOptions> {
  const a = parseBenchArgs('bench:fleet', USAGE, argv, {
    scenario: { type: 'string', multiple: true },
    nodes: { type: 'string' },
    duration: { type: 'string' },
    ramp: { type: 'string' },
    heartbeat: { type: 'string' },
    'auto-register': { type: 'boolean' },
    hosts: { type: 'string' },
    provision: { type: 'string' },
    'power-provision': { type: 'string' },
    'start-rate': { type: 'string' },
    'hb-start-rate': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'sql-stats': { type: 'boolean' },
    'manager-workers': { type: 'string' },
    'scale-nodes': { type: 'string' },
    acceptors: { type: 'string' },
  });
  const { values, flags: f } = a;
  const q = values.quick;
  return Object.freeze({
    scenarios: (values.scenario ?? [...FLEET_SCENARIOS]).map((s) => f.oneOf(s, FLEET_SCENARIOS, '--scenario')),
    nodes: f.whole(values.nodes, q ? 1000 : 10_000, '--nodes'),
    durationMs: f.seconds(values.duration, q ? 60 : 300, '--duration'),
    rampMs: f.seconds(values.ramp, 240, '--ramp'),
    heartbeatMs: f.seconds(values.heartbeat, 10, '--heartbeat'),
    autoRegister: values['auto-register'] ?? false,
    hosts: f.whole(values.hosts, 1000, '--hosts'),
    provisionMs: f.seconds(values.provision, 2, '--provision'),
    powerProvisionMs: f.seconds(values['power-provision'], 0.02, '--power-provision'),
    startRate: f.whole(values['start-rate'], 1000, '--start-rate'),
    hbStartRate: f.whole(values['hb-start-rate'], 1000, '--hb-start-rate'),
    cpuProfDir: values['cpu-prof'],
    sqlStats: values['sql-stats'] ?? false,
    managerWorkers: values['manager-workers'] !== undefined ? f.whole(values['manager-workers'], 4, '--manager-workers') : undefined,
    acceptors: values.acceptors !== undefined ? f.whole(values.acceptors, 32, '--acceptors') : undefined,
    // Anything but --cpu-prof, --sql-stats and --md changes what is measured: such a run leaves BENCHMARKS.md alone unless --md.
    scaleNodes: f.whole(values['scale-nodes'], 3000, '--scale-nodes'),
    writeMarkdown: a.writeMarkdown(a.anyGivenExcept('cpu-prof', 'sql-stats')),
    command: a.command,
  });
}
