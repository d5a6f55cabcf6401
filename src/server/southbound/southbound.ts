import type { FastifyInstance } from 'fastify';
import type { InventoryService } from '../../inventory/index.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { AgentCa } from './agent-ca.ts';
import { AgentAuth } from './agent-auth.ts';
import { AgentCertificates } from './agent-certificates.ts';
import { AgentStreams } from './agent-streams.ts';
import { HardwareSync } from './hardware-sync.ts';
import { LeaseTracker } from './lease-tracker.ts';
import { AdvisoryLease } from '../../store/index.ts';
import { registerSouthboundRoutes } from './southbound-routes.ts';
import { compileSouthboundLimits, type SouthboundLimitOptions } from './southbound-limits.ts';
import { ALONE_FLUSH_MS, SHARED_FLUSH_MS } from './lease-options.ts';
import { registerTelemetryIngestRoutes } from './telemetry-ingest-routes.ts';
import { TelemetryService } from '../telemetry/telemetry-service.ts';

/** The advisory lock the servers sharing one PostgreSQL database take to judge agents' leases ('eim', 2). */
const LEASE_JUDGE_LOCK = [0x65696d, 2] as const;

export interface SouthboundOptions {
  service: InventoryService;
  tokens: TokenService;
  /** Heartbeat interval assumed when an agent does not say. @default 10000 */
  defaultIntervalMs?: number;
  /** How often the judging server checks leases. @default 1000 */
  leaseCheckMs?: number;
  /**
   * How often this server writes its agents' heartbeats to the lease table (one statement).
   * @default 2000 with leaderUrl (several servers); 10000 without (the only server judges from its own memory, and the table serves restarts and lastSeenAt)
   */
  leaseFlushMs?: number;
  /** status.lastSeenAt of a running host is written when it is this much behind its last heartbeat. @default 60000 */
  lastSeenEveryMs?: number;
  /** Inside a maintenance window a silent host shows "maintenance" this long, then "no connection (in maintenance)". @default 900000 (15 min) */
  maintenanceGraceMs?: number;
  /**
   * The PostgreSQL database several servers share: they elect the one that judges lease expiry
   * through an advisory lock, and a standby takes over when it goes. @default none: this process judges (one server)
   */
  leaderUrl?: string;
  /** Rates, caps and the agent token lifetime (see SouthboundLimitOptions for the defaults). */
  limits?: SouthboundLimitOptions;
  /** A connecting agent's commands are read in one query of at most this many, then page by page. @default 1000 */
  commandsReadAtOnce?: number;
  /** Bytes an agent stream may have waiting for its client before it is dropped (AgentStreams' maxBufferedBytes). @default 16 MiB */
  streamBufferBytes?: number;
  /** Bytes all agent streams of this server may have waiting together (AgentStreams' maxBufferedBytesTotal). @default 256 MiB */
  streamBufferBytesTotal?: number;
  /** Where the agents' OTLP batches go. @default a TelemetryService with the defaults, on the inventory's store */
  telemetry?: TelemetryService;
  onError?: (e: unknown) => void;
  /** Mutual TLS for agents: sign agents' certificates at enrolment and require them on every other southbound call (the listener must request them with this CA). @default off */
  agentCa?: AgentCa;
}

export interface Southbound {
  leases: LeaseTracker;
  streams: AgentStreams;
  hardware: HardwareSync;
  /** Present with mutual TLS for agents. */
  certificates?: AgentCertificates;
  stop(): Promise<void>;
}

/**
 * The southbound layer (ARCHITECTURE.md §7): enrolment, heartbeats held in memory, hardware
 * diffing, per-agent command streams, and revocation when a host is invalidated or deleted. Its
 * writes go through the Inventory like anyone's; it runs in every server process, whether the
 * managers do or not.
 */
export async function startSouthbound(app: FastifyInstance, o: SouthboundOptions): Promise<Southbound> {
  const limits = compileSouthboundLimits(o.limits);
  const system = o.service.as({ subject: 'southbound', grants: [{ project: '*', role: 'manager' }] });
  const leases = new LeaseTracker({
    inventory: system,
    leases: o.service.store.leases,
    defaultIntervalMs: o.defaultIntervalMs,
    checkEveryMs: o.leaseCheckMs,
    flushMs: o.leaseFlushMs ?? (o.leaderUrl ? SHARED_FLUSH_MS : ALONE_FLUSH_MS),
    maintenanceGraceMs: o.maintenanceGraceMs,
    lastSeenEveryMs: o.lastSeenEveryMs,
    onError: o.onError,
  });
  const hardware = new HardwareSync(system, (project, hostId, kinds, limit) => o.service.store.referringTo(project, hostId, kinds, limit));
  const certificates = o.agentCa ? new AgentCertificates({ ca: o.agentCa, host: (id) => o.service.store.get(id) }) : undefined;
  const streams = new AgentStreams({
    service: o.service,
    caller: { subject: 'southbound', grants: [{ project: '*', role: 'manager' }] },
    onHost: (host, deleted) => leases.observeHost(host, deleted),
    guard: (token, onInvalid) => o.tokens.guard(token, onInvalid),
    onError: o.onError,
    commandsReadAtOnce: o.commandsReadAtOnce,
    maxPerHost: limits.streamsPerHost,
    maxBufferedBytes: o.streamBufferBytes,
    maxBufferedBytesTotal: o.streamBufferBytesTotal,
    onHostRevoked: async (hostId) => {
      leases.forget(hostId);
      certificates?.hostRevoked(hostId);
      await o.tokens.revoke({ hostId });
    },
  });
  registerSouthboundRoutes(app, { service: o.service, tokens: o.tokens, leases, hardware, streams, limits, certificates });
  registerTelemetryIngestRoutes(app, { service: o.service, auth: new AgentAuth(o.tokens, certificates), telemetry: o.telemetry ?? new TelemetryService(o.service.store.telemetry) });
  // The watch first, then the hosts' stored state: the view keeps whichever is newer, so nothing is missed.
  await streams.start();
  // Hosts force-deleted while no server was listening (a crash between the delete and the
  // revocation) left no row for streams.start() to find: their tokens go now; the watch covers later ones.
  await o.tokens.revoke({ hostGone: true });
  // Not awaited: the server listens while it reads every host's stored state (see LeaseTracker.start).
  const loading = leases.start();
  let leader: AdvisoryLease | undefined;
  if (o.leaderUrl) {
    leader = new AdvisoryLease({ url: o.leaderUrl, keys: LEASE_JUDGE_LOCK, acquired: () => leases.lead(), lost: () => leases.follow(), onError: o.onError });
    await leader.start();
  } else {
    leases.lead();
  }
  return {
    leases,
    streams,
    hardware,
    certificates,
    async stop() {
      await leader?.stop();
      await leases.stop();
      await loading;
      await streams.stop();
    },
  };
}
