import { readFileSync } from 'node:fs';
import { type AgentLog, streamLog } from './agent-log.ts';
import { type CertificateStore, FileCertificateStore, MemoryCertificateStore } from './agent-certificate.ts';
import { type AgentStateStore, FileStateStore, MemoryStateStore } from './agent-state.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Discovery } from './discovery/discovery.ts';
import type { Executor } from './executor/executor.ts';
import { SouthboundClient } from './southbound-client.ts';
import type { LogSource } from './telemetry/linux-logs.ts';
import type { MetricSource } from './telemetry/linux-metrics.ts';

export interface AgentOptions {
  /** The eim server, e.g. https://eim.example.com; or several (servers on one database, no load balancer): the agent uses one and moves to the next when it cannot reach it. */
  server: string | readonly string[];
  /** Needed only until the agent has enrolled (agent.json holds its own token afterwards). */
  enrollmentToken?: string;
  /** agent.json, the command journal, config.json, images. @default none: state in memory only (the simulator) */
  dataDir?: string;
  discovery: Discovery;
  executor: Executor;
  /** @default 10000 */
  heartbeatMs?: number;
  /** How often discovery runs again; a changed machine is reported again. @default 60000 */
  rescanMs?: number;
  /** Reconnect and retry delays double from this... @default 1000 */
  backoffMinMs?: number;
  /** ...up to this. @default 30000 */
  backoffMaxMs?: number;
  /** Reconnect a stream that sent nothing (the server bookmarks at least every 10 s) for this long. @default 35000 */
  streamIdleTimeoutMs?: number;
  /** On stop, how long to wait for in-flight calls (a command's result). @default 5000 */
  stopGraceMs?: number;
  /** At most one progress post per command per this long. @default 1000 */
  progressIntervalMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /** @default Math.random */
  random?: () => number;
  /** @default lines on stderr */
  log?: AgentLog;
  /** @default /proc/sys/kernel/random/boot_id, when readable */
  bootId?: string;
  /** @default a FileStateStore in dataDir, else memory */
  stateStore?: AgentStateStore;
  /** The client certificate and key for mutual TLS. @default <dataDir>/agent-tls.pem (0600), else memory */
  certificateStore?: CertificateStore;
  /** CA certificates (PEM) trusted besides Node's root certificates, for an https server (--ca-file). */
  ca?: string;
  /** @default new SouthboundClient(server) trusting `ca` */
  client?: SouthboundClient;
  /** Where metrics and logs are read (linux: /proc, /sys, journald; sim: seeded series). @default none: nothing is collected */
  telemetry?: { metrics: MetricSource; logs: LogSource };
  /** Bytes of telemetry batches kept while the server is away (on disk in dataDir); past it the oldest go, counted. @default 64 MiB */
  telemetryBufferBytes?: number;
  /** How often log groups are read. @default 5000 */
  logPollMs?: number;
}

export type CompiledAgentOptions = Readonly<
  Required<Omit<AgentOptions, 'server' | 'enrollmentToken' | 'dataDir' | 'bootId' | 'ca' | 'telemetry'>> &
    Pick<AgentOptions, 'enrollmentToken' | 'dataDir' | 'bootId' | 'ca' | 'telemetry'> & {
      /** The first server (what the agent's state records). */
      server: string;
      servers: readonly string[];
    }
>;

/**
 * Fills the defaults of AgentOptions, checks them and freezes the result.
 * @example compileAgentOptions({ server, discovery, executor }).heartbeatMs // 10000
 */
export function compileAgentOptions(o: AgentOptions): CompiledAgentOptions {
  const servers = (typeof o.server === 'string' ? [o.server] : [...o.server]).map((u) => u.replace(/\/+$/, ''));
  if (servers.length === 0) throw new RangeError('agent: give at least one server');
  for (const u of servers) if (!/^https?:\/\/[^/]/.test(u)) throw new RangeError(`agent: the server must be an http(s) URL (got "${u}")`);
  const server = servers[0];
  const log = o.log ?? streamLog();
  const c = {
    ...o,
    server,
    servers,
    heartbeatMs: o.heartbeatMs ?? 10_000,
    rescanMs: o.rescanMs ?? 60_000,
    backoffMinMs: o.backoffMinMs ?? 1000,
    backoffMaxMs: o.backoffMaxMs ?? 30_000,
    streamIdleTimeoutMs: o.streamIdleTimeoutMs ?? 35_000,
    stopGraceMs: o.stopGraceMs ?? 5000,
    progressIntervalMs: o.progressIntervalMs ?? 1000,
    telemetryBufferBytes: o.telemetryBufferBytes ?? 64 * 1024 * 1024,
    logPollMs: o.logPollMs ?? 5000,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
    log,
    bootId: o.bootId ?? readBootId(),
    stateStore: o.stateStore ?? (o.dataDir ? new FileStateStore(o.dataDir, (m) => log.warn(m)) : new MemoryStateStore()),
    certificateStore: o.certificateStore ?? (o.dataDir ? new FileCertificateStore(o.dataDir, (m) => log.warn(m)) : new MemoryCertificateStore()),
    client: o.client ?? new SouthboundClient(servers, undefined, undefined, o.ca, (from, to) => log.warn(`cannot reach ${from}: using ${to}`)),
  };
  for (const k of ['heartbeatMs', 'rescanMs', 'backoffMinMs', 'backoffMaxMs', 'streamIdleTimeoutMs'] as const) {
    if (!(Number.isFinite(c[k]) && c[k] > 0)) throw new RangeError(`agent: ${k} must be a positive number of milliseconds (got ${c[k]})`);
  }
  // The protocol's heartbeat carries the interval (0.05 s … 1 h): the server's lease is 3 of them.
  if (c.heartbeatMs < 50 || c.heartbeatMs > 3_600_000) throw new RangeError(`agent: heartbeatMs must be between 50 ms and 1 h (got ${c.heartbeatMs})`);
  if (c.backoffMaxMs < c.backoffMinMs) throw new RangeError('agent: backoffMaxMs must be at least backoffMinMs');
  return Object.freeze(c);
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined; // not Linux: power commands then cannot tell a reboot happened
  }
}
