import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { Agent, type AgentLog, type AgentStats, MemoryCertificateStore, MemoryStateStore, SimDiscovery, SimExecutor, type SimExecutorOptions, type SimOs, SimTelemetry, type SimNodeConfig, SouthboundClient, simHardware, simOsRelease } from '../agent/index.ts';
import type { CommandResult } from '../api/index.ts';
import { SimMemory } from './sim-memory.ts';

import { connectionPool } from '../client/index.ts';

export interface FleetSimOptions {
  /** The eim server; or several (servers on one database): the nodes are spread across them and each moves to the next when its server cannot be reached. */
  server: string | readonly string[];
  /** An enrollment token of the project (with autoRegister, unknown nodes register themselves). */
  enrollmentToken: string;
  nodes: number;
  /** Machines derive from it (uuids, serials, MACs): the same seed gives the same fleet. @default 'sim' */
  seed?: string;
  /** Node names are `<prefix>-00000`, `<prefix>-00001`, …. @default the seed */
  prefix?: string;
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
  /** Where each node's log goes (SimLog.forNode, which sums them up); wins over `log`. */
  logFor?: (node: string) => AgentLog;
  /** Per-node executor settings over the fleet's (a node that always fails, say). */
  executorFor?: (index: number) => Partial<SimExecutorOptions>;
  /**
   * A node powered off goes silent (no heartbeats, stream closed) until `powerOn`; reset and
   * power-cycle make it silent for `rebootMs` and boot it again. Off (the default), a powered-off
   * node keeps heartbeating: benchmarks power hosts off and on again with no out-of-band
   * controller to switch a silent one back on. @default false
   */
  silentWhenOff?: boolean;
  /** How long a reset or power-cycle keeps a node silent. @default 2000 */
  rebootMs?: number;
  /** What the simulator remembers of its nodes across runs (revoked identities, their OS). @default in memory only */
  memory?: SimMemory;
  /** CA certificates (PEM) trusted besides Node's root certificates, for an https server (--ca-file). */
  ca?: string;
  /** How often simulated log groups are read. @default 5000 */
  logPollMs?: number;
  /** Bytes of telemetry each node keeps while the server is away. @default 1 MiB */
  telemetryBufferBytes?: number;
}

/** Where a node is: its agent runs (`on`), it is powered off or rebooting, or its agent ended. */
type NodeState = 'on' | 'off' | 'rebooting' | 'revoked' | 'exited';

interface SimNode {
  identity: SimNodeIdentity;
  discovery: SimDiscovery;
  executor: SimExecutor;
  /** Seeded series and logs; kept across boots (a machine's disks do not empty on reboot). */
  telemetry: SimTelemetry;
  /** Kept across boots: a node that powers on again uses its agent token, as a rebooted machine would. */
  state: MemoryStateStore;
  /** Its client certificate (mutual TLS), kept across reboots like agent.json. */
  certificates: MemoryCertificateStore;
  agent: Agent;
  run: Promise<unknown>;
  status: NodeState;
  /** How many times the machine booted (1 at start, one more per power on, reset or power-cycle). */
  boots: number;
  /** The counters of its earlier boots, so the fleet's totals never go down. */
  past: Record<string, number>;
  /** The power command whose result, once posted, switches the machine off or reboots it. */
  pendingPower?: { commandId: string; target: 'on' | 'off' | 'reset' | 'power-cycle' };
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
  /** Nodes running an agent that has not enrolled yet (its host is not registered, or the server is away). */
  waiting: number;
  /** Nodes powered off (silent) or rebooting. */
  off: number;
  /** Nodes not started because the simulator remembers their hosts were deleted or invalidated. */
  keptOff: number;
  heartbeats: number;
  hardwareReports: number;
  streamConnections: number;
  /** Config events the agents received, and configs they applied. */
  configEvents: number;
  configsApplied: number;
  /** Node-config events the agents received, and node configs they applied. */
  nodeConfigEvents: number;
  nodeConfigsApplied: number;
  exited: number;
  exits: Record<string, number>;
}

/** The identity of node `i` of a fleet: what to register in the inventory before enrolment. */
export function simIdentity(seed: string, index: number, prefix: string = seed): SimNodeIdentity {
  const hostname = `${prefix}-${String(index).padStart(5, '0')}`;
  const hw = simHardware(`${seed}-${index}`, hostname).hardware;
  return { index, hostname, uuid: hw.uuid!, serialNumber: hw.serialNumber! };
}

/**
 * A simulated fleet in one process: N real `Agent`s (the same code and southbound protocol as
 * `eim agent`) with simulated hardware and a simulated executor (delays, injected failures).
 * Their connections share one keep-alive pool. Machines behave like machines: an install or update
 * changes the OS their hardware reports; with `silentWhenOff` a powered-off machine goes silent
 * and a reset reboots it; a node whose host was deleted stays off (and, with a file-backed
 * `memory`, stays off in later runs too).
 * @example const sim = new FleetSimulator({ server, enrollmentToken, nodes: 20 }); await sim.start(); … await sim.stop()
 */
export class FleetSimulator {
  private readonly nodes: SimNode[] = [];
  private readonly exits: Record<string, number> = {};
  private readonly pool: http.Agent;
  private readonly memory: SimMemory;
  private readonly timers = new Set<NodeJS.Timeout>();
  private churnTimer?: NodeJS.Timeout;
  private stopped = false;
  private keptOff = 0;
  private readonly hostIndex = new Map<string, number>();
  readonly seed: string;
  readonly prefix: string;

  constructor(private readonly options: FleetSimOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1) throw new RangeError('nodes must be a whole number ≥ 1');
    this.seed = options.seed ?? options.prefix ?? 'sim';
    this.prefix = options.prefix ?? this.seed;
    this.memory = options.memory ?? new SimMemory(undefined, '');
    this.pool = connectionPool(typeof options.server === 'string' ? options.server : options.server[0], { ca: options.ca, maxSockets: 256 });
  }

  /** Starts the nodes (paced by startRate); resolves once all have been started. Nodes remembered as revoked stay off. */
  async start(): Promise<void> {
    const o = this.options;
    const rate = o.startRate ?? 500;
    for (let i = 0; i < o.nodes && !this.stopped; i++) {
      if (this.memory.get(i)?.revokedAt) {
        this.keptOff++;
        continue;
      }
      const identity = simIdentity(this.seed, i, this.prefix);
      const discovery = new SimDiscovery({ seed: `${this.seed}-${i}`, hostname: identity.hostname });
      const os = this.memory.get(i)?.os;
      if (os) discovery.setOs(os);
      const node = { identity, discovery, telemetry: new SimTelemetry(`${this.seed}-${i}`), state: new MemoryStateStore(), certificates: new MemoryCertificateStore(), status: 'on', boots: 0, past: {} } as SimNode;
      node.executor = this.executorOf(node);
      this.nodes[i] = node;
      this.boot(node);
      if ((i + 1) % Math.max(1, Math.round(rate / 10)) === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const churn = o.hardwareChurn ?? 0;
    if (churn > 0) {
      // Each second, each node changes with probability churn/60.
      this.churnTimer = setInterval(() => {
        for (const n of this.nodes) if (n && Math.random() < churn / 60) n.discovery.churn();
      }, 1000);
      this.churnTimer.unref();
    }
  }

  /** Nodes the memory keeps off (their hosts were deleted or invalidated in an earlier run): index, name, when, why. */
  revokedEarlier(): { index: number; hostname: string; revokedAt: string; reason?: string }[] {
    const out = [];
    for (let i = 0; i < this.options.nodes; i++) {
      const m = this.memory.get(i);
      if (m?.revokedAt) out.push({ index: i, hostname: simIdentity(this.seed, i, this.prefix).hostname, revokedAt: m.revokedAt, reason: m.revokedReason });
    }
    return out;
  }

  private executorOf(node: SimNode): SimExecutor {
    const o = this.options;
    const i = node.identity.index;
    return new SimExecutor({
      durationMs: o.provisionTimeMs ?? 2000,
      failRate: o.failRate ?? 0,
      unrecoverableRate: o.unrecoverableRate ?? 0,
      ...(o.updateTimeMs !== undefined ? { updateDurationMs: o.updateTimeMs } : {}),
      ...(o.updateFailRate !== undefined ? { updateFailRate: o.updateFailRate } : {}),
      seed: `${this.seed}-${i}`,
      osId: this.memory.get(i)?.os?.osId,
      onOsChange: (os) => this.osChanged(node, os),
      onPower: (target, commandId) => {
        if (o.silentWhenOff && target !== 'on') node.pendingPower = { commandId, target };
      },
      ...o.executorFor?.(i),
    });
  }

  private osChanged(node: SimNode, os: SimOs): void {
    const release = simOsRelease(os.profileName, os.profileVersion);
    node.discovery.setOs(release);
    this.memory.update(node.identity.index, { os: { ...release, ...(os.osId ? { osId: os.osId } : {}) } });
  }

  /** Runs the node's agent (again): the machine boots. */
  private boot(node: SimNode): void {
    const o = this.options;
    const quiet: AgentLog = { info() {}, warn() {}, error() {} };
    const name = node.identity.hostname;
    // Node i starts on server i mod n: a fleet spread evenly, as behind a load balancer.
    const client = new PowerAwareClient(o.server, this.pool, o.ca, (id, result) => this.resultPosted(node, id, result)).startAt(node.identity.index);
    const agent = new Agent({
      server: o.server,
      enrollmentToken: o.enrollmentToken,
      discovery: node.discovery,
      executor: node.executor,
      heartbeatMs: o.heartbeatMs ?? 10_000,
      rescanMs: o.rescanMs ?? 10_000,
      telemetry: { metrics: node.telemetry, logs: node.telemetry },
      telemetryBufferBytes: o.telemetryBufferBytes ?? 1024 * 1024,
      logPollMs: o.logPollMs ?? 5000,
      stateStore: node.state,
      certificateStore: node.certificates,
      client,
      // A new boot id per boot, as a real machine's kernel makes one.
      bootId: randomUUID(),
      log: o.logFor ? o.logFor(name) : o.log ? prefixed(o.log, name) : quiet,
    });
    if (node.agent) for (const [k, v] of Object.entries(node.agent.stats)) node.past[k] = (node.past[k] ?? 0) + v;
    node.agent = agent;
    node.status = 'on';
    node.boots++;
    node.run = agent.run().then(
      (exit) => {
        if (node.agent !== agent || node.status === 'off' || node.status === 'rebooting') return;
        this.exits[exit.reason] = (this.exits[exit.reason] ?? 0) + 1;
        node.status = exit.reason === 'revoked' ? 'revoked' : 'exited';
        if (exit.reason === 'revoked') {
          const s = node.state.load();
          this.memory.update(node.identity.index, { revokedAt: s?.revokedAt ?? new Date().toISOString(), revokedReason: exit.message.slice(0, 512), hostId: s?.hostId });
        }
      },
      () => {
        if (node.agent === agent) this.exits.failed = (this.exits.failed ?? 0) + 1;
        node.status = 'exited';
      },
    );
  }

  /** A power command's final result reached the server: now the machine switches off or reboots. */
  private resultPosted(node: SimNode, commandId: string, result: CommandResult): void {
    const p = node.pendingPower;
    if (!p || p.commandId !== commandId || result.state !== 'succeeded') return;
    node.pendingPower = undefined;
    void this.switchOff(node, p.target === 'off' ? 'off' : 'rebooting').then(() => {
      if (p.target === 'off' || this.stopped) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.stopped && node.status === 'rebooting') this.boot(node);
      }, this.options.rebootMs ?? 2000);
      this.timers.add(t);
    });
  }

  private async switchOff(node: SimNode, status: 'off' | 'rebooting'): Promise<void> {
    node.status = status;
    node.agent.stop();
    await node.run;
  }

  /** Switches a powered-off node on (its out-of-band power control): it boots and reconnects with its token. */
  powerOn(index: number): boolean {
    const node = this.nodes[index];
    if (!node || node.status !== 'off' || this.stopped) return false;
    node.executor.poweredOn();
    this.boot(node);
    return true;
  }

  /** How many times a node booted: 1 after start, one more per power on, reset or power-cycle. */
  boots(index: number): number {
    return this.nodes[index]?.boots ?? 0;
  }

  /** Whether a node is powered off (silent). */
  isOff(index: number): boolean {
    return this.nodes[index]?.status === 'off';
  }

  /** The node that enrolled as this host, if any (looked up in a map rebuilt when it misses). */
  indexOfHost(hostId: string): number | undefined {
    if (!this.hostIndex.has(hostId)) {
      this.hostIndex.clear();
      this.nodes.forEach((n, i) => {
        const id = n?.agent.hostId;
        if (id) this.hostIndex.set(id, i);
      });
    }
    return this.hostIndex.get(hostId);
  }

  /** Stops one node's agent (it goes silent: no heartbeats, no stream). */
  async pause(index: number): Promise<void> {
    await this.switchOff(this.nodes[index], 'off');
  }

  /** Starts a paused node again: it boots and reconnects with the token it has. */
  resume(index: number): void {
    const node = this.nodes[index];
    node.executor.poweredOn();
    this.boot(node);
  }

  /** Changes one thing in a node's hardware; its next rescan reports it. */
  churn(index: number): void {
    this.nodes[index].discovery.churn();
  }

  /** One node's agent counters (those of its current boot). */
  /** A node's telemetry counters (batches collected and sent), or undefined before its agent collects. */
  telemetryStats(index: number): { metricBatches: number; logBatches: number; sent: number; refused: number; collections: number; buffered: number } | undefined {
    const t = this.nodes[index]?.agent.telemetry;
    return t ? { ...t.stats, buffered: t.buffered } : undefined;
  }

  agentStats(index: number): AgentStats {
    return { ...this.nodes[index].agent.stats };
  }

  /** The host id a node enrolled as (undefined before enrolment). */
  hostId(index: number): string | undefined {
    return this.nodes[index]?.agent.hostId;
  }

  /** A node's accounts and files as node configuration left them (in memory). */
  nodeConfigOf(index: number): SimNodeConfig | undefined {
    return this.nodes[index]?.executor.node;
  }

  /** The OS a node's hardware reports now. */
  osOf(index: number): { name?: string; version?: string } | undefined {
    return this.nodes[index]?.discovery.os;
  }

  /** Stops every node and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.churnTimer);
    for (const t of this.timers) clearTimeout(t);
    const live = this.nodes.filter(Boolean);
    for (const n of live) n.agent.stop();
    await Promise.allSettled(live.map((n) => n.run));
    this.pool.destroy();
    this.memory.flush();
  }

  stats(): FleetStats {
    const s: FleetStats = {
      nodes: this.options.nodes, started: 0, enrolled: 0, waiting: 0, off: 0, keptOff: this.keptOff, heartbeats: 0, hardwareReports: 0, streamConnections: 0,
      configEvents: 0, configsApplied: 0, nodeConfigEvents: 0, nodeConfigsApplied: 0, exited: 0, exits: { ...this.exits },
    };
    for (const n of this.nodes) {
      if (!n) continue;
      s.started++;
      const a = n.agent;
      const enrolled = !!n.state.load()?.token;
      if (n.status === 'off' || n.status === 'rebooting') s.off++;
      else if (n.status === 'on') {
        if (enrolled) s.enrolled++;
        else s.waiting++;
      }
      const p = (k: keyof AgentStats) => (n.past[k] ?? 0) + a.stats[k];
      s.heartbeats += p('heartbeats');
      s.hardwareReports += p('hardwareReports');
      s.streamConnections += p('streamConnections');
      s.configEvents += p('configEvents');
      s.configsApplied += p('configsApplied');
      s.nodeConfigEvents += p('nodeConfigEvents');
      s.nodeConfigsApplied += p('nodeConfigsApplied');
    }
    s.exited = Object.values(this.exits).reduce((x, y) => x + y, 0);
    return s;
  }

  /** The nodes' identities, e.g. to register them before they enrol. */
  identities(): SimNodeIdentity[] {
    return Array.from({ length: this.options.nodes }, (_, i) => simIdentity(this.seed, i, this.prefix));
  }
}

/** The southbound client of one simulated machine: tells the simulator when a command's final result was posted. */
class PowerAwareClient extends SouthboundClient {
  constructor(
    server: string | readonly string[],
    pool: http.Agent,
    ca: string | undefined,
    private readonly posted: (id: string, result: CommandResult) => void,
  ) {
    super(server, undefined, pool, ca);
  }

  override async commandResult(id: string, result: CommandResult): Promise<void> {
    await super.commandResult(id, result);
    if (result.state !== 'running') this.posted(id, result);
  }
}

function prefixed(log: AgentLog, name: string): AgentLog {
  return { info: () => {}, warn: (m) => log.warn(`${name}: ${m}`), error: (m) => log.error(`${name}: ${m}`) };
}
