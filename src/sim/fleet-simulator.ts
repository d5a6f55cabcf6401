import http from 'node:http';
import { Agent, type AgentLog, MemoryStateStore, SimDiscovery, SimExecutor, SouthboundClient, simHardware } from '../agent/index.ts';

export interface FleetSimOptions {
  /** The eim server. */
  server: string;
  /** An enrollment token of the project (with autoRegister, unknown nodes register themselves). */
  enrollmentToken: string;
  nodes: number;
  /** Names and machines derive from it: the same seed gives the same fleet. @default 'sim' */
  seed?: string;
  /** @default 10000 */
  heartbeatMs?: number;
  /** How long a simulated OS install (or update) takes. @default 2000 */
  provisionTimeMs?: number;
  /** Share of commands failing recoverably. @default 0 */
  failRate?: number;
  /** Share of commands failing for good. @default 0 */
  unrecoverableRate?: number;
  /** Hardware changes per node per minute (a USB stick, a link going down). @default 0 */
  hardwareChurn?: number;
  /** How often nodes rescan their (simulated) hardware. @default 10000 */
  rescanMs?: number;
  /** Nodes started per second, so a large fleet does not enrol in one burst. @default 500 */
  startRate?: number;
  /** Where agents' warnings go (one line each, prefixed with the node). @default dropped */
  log?: AgentLog;
}

export interface SimNodeIdentity {
  index: number;
  hostname: string;
  uuid: string;
  serialNumber: string;
}

export interface FleetStats {
  nodes: number;
  started: number;
  enrolled: number;
  heartbeats: number;
  hardwareReports: number;
  streamConnections: number;
  exited: number;
  exits: Record<string, number>;
}

/** The identity of node `i` of a fleet: what to register in the inventory before enrolment. */
export function simIdentity(seed: string, index: number): SimNodeIdentity {
  const hostname = `${seed}-${String(index).padStart(5, '0')}`;
  const hw = simHardware(`${seed}-${index}`, hostname).hardware;
  return { index, hostname, uuid: hw.uuid!, serialNumber: hw.serialNumber! };
}

/**
 * A simulated fleet in one process: N real `Agent`s (the same code and southbound protocol as
 * `eim agent`) with simulated hardware and a simulated executor (delays, injected failures).
 * Their connections share one keep-alive pool.
 * @example const sim = new FleetSimulator({ server, enrollmentToken, nodes: 20 }); await sim.start(); … await sim.stop()
 */
export class FleetSimulator {
  private readonly agents: Agent[] = [];
  private readonly discoveries: SimDiscovery[] = [];
  private readonly runs: Promise<unknown>[] = [];
  private readonly exits: Record<string, number> = {};
  private readonly pool = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private churnTimer?: NodeJS.Timeout;
  private stopped = false;
  readonly seed: string;

  constructor(private readonly options: FleetSimOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1) throw new RangeError('nodes must be a whole number ≥ 1');
    this.seed = options.seed ?? 'sim';
  }

  /** Starts the nodes (paced by startRate); resolves once all have been started. */
  async start(): Promise<void> {
    const o = this.options;
    const rate = o.startRate ?? 500;
    const quiet: AgentLog = { info() {}, warn() {}, error() {} };
    for (let i = 0; i < o.nodes && !this.stopped; i++) {
      const id = simIdentity(this.seed, i);
      const discovery = new SimDiscovery({ seed: `${this.seed}-${i}`, hostname: id.hostname });
      const log = o.log ? prefixed(o.log, id.hostname) : quiet;
      const agent = new Agent({
        server: o.server,
        enrollmentToken: o.enrollmentToken,
        discovery,
        executor: new SimExecutor({ durationMs: o.provisionTimeMs ?? 2000, failRate: o.failRate ?? 0, unrecoverableRate: o.unrecoverableRate ?? 0, seed: `${this.seed}-${i}` }),
        heartbeatMs: o.heartbeatMs ?? 10_000,
        rescanMs: o.rescanMs ?? 10_000,
        stateStore: new MemoryStateStore(),
        client: new SouthboundClient(o.server, undefined, this.pool),
        log,
      });
      this.agents.push(agent);
      this.discoveries.push(discovery);
      this.runs.push(
        agent.run().then(
          (exit) => (this.exits[exit.reason] = (this.exits[exit.reason] ?? 0) + 1),
          () => (this.exits.failed = (this.exits.failed ?? 0) + 1),
        ),
      );
      if ((i + 1) % Math.max(1, Math.round(rate / 10)) === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const churn = o.hardwareChurn ?? 0;
    if (churn > 0) {
      // Each second, each node changes with probability churn/60.
      this.churnTimer = setInterval(() => {
        for (const d of this.discoveries) if (Math.random() < churn / 60) d.churn();
      }, 1000);
      this.churnTimer.unref();
    }
  }

  /** Stops every node and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.churnTimer);
    for (const a of this.agents) a.stop();
    await Promise.allSettled(this.runs);
    this.pool.destroy();
  }

  stats(): FleetStats {
    const s: FleetStats = { nodes: this.options.nodes, started: this.agents.length, enrolled: 0, heartbeats: 0, hardwareReports: 0, streamConnections: 0, exited: 0, exits: { ...this.exits } };
    for (const a of this.agents) {
      if (a.hostId) s.enrolled++;
      s.heartbeats += a.stats.heartbeats;
      s.hardwareReports += a.stats.hardwareReports;
      s.streamConnections += a.stats.streamConnections;
    }
    s.exited = Object.values(this.exits).reduce((x, y) => x + y, 0);
    return s;
  }

  /** The nodes' identities, e.g. to register them before they enrol. */
  identities(): SimNodeIdentity[] {
    return Array.from({ length: this.options.nodes }, (_, i) => simIdentity(this.seed, i));
  }
}

function prefixed(log: AgentLog, name: string): AgentLog {
  return { info: () => {}, warn: (m) => log.warn(`${name}: ${m}`), error: (m) => log.error(`${name}: ${m}`) };
}
