import http from 'node:http';
import { Agent, type AgentLog, type AgentStats, MemoryStateStore, SimDiscovery, SimExecutor, type SimExecutorOptions, SouthboundClient, simHardware } from '../agent/index.ts';

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
  /** How long a simulated OS update takes. @default provisionTimeMs */
  updateTimeMs?: number;
  /** Share of OS updates failing (and rolling back). @default the fail rates */
  updateFailRate?: number;
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
  /** Per-node executor settings over the fleet's (a node that always fails, say). */
  executorFor?: (index: number) => Partial<SimExecutorOptions>;
}

interface SimNode {
  identity: SimNodeIdentity;
  discovery: SimDiscovery;
  agent: Agent;
  run: Promise<unknown>;
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
  /** Config events the agents received, and configs they applied. */
  configEvents: number;
  configsApplied: number;
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
  private readonly nodes: SimNode[] = [];
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
    for (let i = 0; i < o.nodes && !this.stopped; i++) {
      const identity = simIdentity(this.seed, i);
      const discovery = new SimDiscovery({ seed: `${this.seed}-${i}`, hostname: identity.hostname });
      this.nodes.push(this.launch({ identity, discovery }));
      if ((i + 1) % Math.max(1, Math.round(rate / 10)) === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const churn = o.hardwareChurn ?? 0;
    if (churn > 0) {
      // Each second, each node changes with probability churn/60.
      this.churnTimer = setInterval(() => {
        for (const n of this.nodes) if (Math.random() < churn / 60) n.discovery.churn();
      }, 1000);
      this.churnTimer.unref();
    }
  }

  private launch(n: { identity: SimNodeIdentity; discovery: SimDiscovery }): SimNode {
    const o = this.options;
    const i = n.identity.index;
    const quiet: AgentLog = { info() {}, warn() {}, error() {} };
    const agent = new Agent({
      server: o.server,
      enrollmentToken: o.enrollmentToken,
      discovery: n.discovery,
      executor: new SimExecutor({
        durationMs: o.provisionTimeMs ?? 2000,
        failRate: o.failRate ?? 0,
        unrecoverableRate: o.unrecoverableRate ?? 0,
        ...(o.updateTimeMs !== undefined ? { updateDurationMs: o.updateTimeMs } : {}),
        ...(o.updateFailRate !== undefined ? { updateFailRate: o.updateFailRate } : {}),
        seed: `${this.seed}-${i}`,
        ...o.executorFor?.(i),
      }),
      heartbeatMs: o.heartbeatMs ?? 10_000,
      rescanMs: o.rescanMs ?? 10_000,
      stateStore: new MemoryStateStore(),
      client: new SouthboundClient(o.server, undefined, this.pool),
      log: o.log ? prefixed(o.log, n.identity.hostname) : quiet,
    });
    const run = agent.run().then(
      (exit) => (this.exits[exit.reason] = (this.exits[exit.reason] ?? 0) + 1),
      () => (this.exits.failed = (this.exits.failed ?? 0) + 1),
    );
    return { ...n, agent, run };
  }

  /** Stops one node's agent (it goes silent: no heartbeats, no stream). */
  async pause(index: number): Promise<void> {
    const n = this.nodes[index];
    n.agent.stop();
    await n.run;
  }

  /** Starts a paused node again: it enrols anew (its old token is revoked) and reconnects. */
  resume(index: number): void {
    const n = this.nodes[index];
    this.nodes[index] = this.launch({ identity: n.identity, discovery: n.discovery });
  }

  /** Changes one thing in a node's hardware; its next rescan reports it. */
  churn(index: number): void {
    this.nodes[index].discovery.churn();
  }

  /** One node's agent counters (those of its current run, after a resume). */
  agentStats(index: number): AgentStats {
    return { ...this.nodes[index].agent.stats };
  }

  /** The host id a node enrolled as (undefined before enrolment). */
  hostId(index: number): string | undefined {
    return this.nodes[index]?.agent.hostId;
  }

  /** Stops every node and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.churnTimer);
    for (const n of this.nodes) n.agent.stop();
    await Promise.allSettled(this.nodes.map((n) => n.run));
    this.pool.destroy();
  }

  stats(): FleetStats {
    const s: FleetStats = { nodes: this.options.nodes, started: this.nodes.length, enrolled: 0, heartbeats: 0, hardwareReports: 0, streamConnections: 0, configEvents: 0, configsApplied: 0, exited: 0, exits: { ...this.exits } };
    for (const { agent: a } of this.nodes) {
      if (a.hostId) s.enrolled++;
      s.heartbeats += a.stats.heartbeats;
      s.hardwareReports += a.stats.hardwareReports;
      s.streamConnections += a.stats.streamConnections;
      s.configEvents += a.stats.configEvents;
      s.configsApplied += a.stats.configsApplied;
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
