import type { Logger } from 'pino';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ALL_PROJECTS } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { AdvisoryLease, openStore } from '../store/index.ts';
import { startAcceptors } from './acceptors.ts';
import { buildApp } from './app.ts';
import type https from 'node:https';
import { compileOidcOptions, type OidcOptions } from './auth/oidc-verifier.ts';
import { TokenService } from './auth/token-service.ts';
import { createServerLog, defaultLogFormat, type LogFormat } from './server-log.ts';
import { isLoopbackHost, plainHttpWarning } from './listener-options.ts';
import { readTlsFiles, type TlsFiles, type TlsMaterial, tlsServerOptions } from './tls-material.ts';
import { AgentCa, type AgentCaOptions } from './southbound/agent-ca.ts';
import { startSouthbound } from './southbound/southbound.ts';
import type { SouthboundLimitOptions } from './southbound/southbound-limits.ts';
import { LOCAL_RECEIVERS_REFUSED, type Managers, startManagers } from '../managers/index.ts';
import { type TelemetryOptions, TelemetryService } from './telemetry/telemetry-service.ts';

/** The bootstrap admin token's lifetime; a new one is written on start when it has expired. */
const ADMIN_TTL = 365 * 86400;
/** The advisory lock the servers sharing one PostgreSQL database take to run the managers ('eim', 1). */
const MANAGERS_LOCK = [0x65696d, 1] as const;

export interface ServerOptions {
  /** Where the SQLite file, signing key and admin token live. @default '.eim' */
  dataDir?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8080 */
  port?: number;
  /** `postgres://…` for PostgreSQL; the embedded SQLite store otherwise. */
  store?: string;
  /** SQLite durability. @default 'full' */
  synchronous?: 'full' | 'normal';
  /** @default 'info' */
  logLevel?: string;
  /** `pretty` (one readable line per record) or `json` (one JSON object per line). @default pretty when stdout is a terminal, json otherwise */
  logFormat?: LogFormat;
  /** Event retention. @default 3600 s and 1,000,000 events */
  retentionSeconds?: number;
  retentionEvents?: number;
  bookmarkMs?: number;
  /** An external OIDC issuer whose tokens are accepted too. */
  oidc?: OidcOptions;
  /** Requests per second per token (0: off; services get 10×). @default 1000 */
  rateLimitRps?: number;
  /** Open watch streams per token (in this server process). @default 64 */
  maxWatchesPerToken?: number;
  /** Open watch streams of one project, all its tokens together (in this server process). @default 250 */
  maxWatchesPerProject?: number;
  /** Open watch streams in this server process, all tokens together. @default 1000 */
  maxWatchStreams?: number;
  /** Serve HTTPS with this certificate chain and key (PEM files), re-read by reloadTls(). @default plain HTTP */
  tls?: TlsFiles;
  /**
   * Mutual TLS for agents: the agent CA's certificate and key (PEM files). The server signs each
   * enrolling agent's certificate request into a client certificate bound to its host (valid
   * `certificateTtlSeconds`, 7 days by default) and requires it on every southbound call but
   * enrolment. Needs `tls`. Read at start (not on SIGHUP). @default off
   */
  agentCa?: Omit<AgentCaOptions, 'now'>;
  /** Open connections in all. @default 16384, or the open-file limit minus 512 when lower */
  maxConnections?: number;
  /** Open connections per client address (IPv4 address, IPv6 /64); 127.0.0.1 and ::1 count toward the total only. @default 512 */
  maxConnectionsPerAddress?: number;
  /**
   * Descriptors of the listening socket the server watches. A busy Node 20 event loop accepts one
   * new connection per descriptor and turn, so a site of machines powering on at once needs more
   * than one (see acceptors.ts); 1: the server's own only. @default 32
   */
  acceptors?: number;
  /** A connection must send a complete request head within this. @default 10000 */
  headerTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. @default 30000 */
  keepAliveTimeoutMs?: number;
  /** Run the resource managers in this process, or not (they run with `eim managers`). @default 'in-process' */
  managers?: 'in-process' | 'none';
  /** Serve /metrics without a token (see AppOptions.metricsPublic). @default true */
  metricsPublic?: boolean;
  /** The southbound's rates, stream cap and agent token lifetime. @default see SouthboundLimitOptions (agent tokens live 24 h) */
  southbound?: SouthboundLimitOptions;
  /** Collected metrics and logs: retention, byte budgets, forwarding to an OpenTelemetry Collector. @default see TelemetryOptions */
  telemetry?: TelemetryOptions;
  /** Inside a maintenance window a silent host shows "maintenance" this long after its last heartbeat, then "no connection (in maintenance)". @default 900 (15 min) */
  maintenanceGraceSeconds?: number;
  /** The address users reach the console at, for links in alert notifications. @default the address this server listens on */
  externalUrl?: string;
  /** How often the alert manager looks for due notifications (tests shorten it). @default 1000 */
  alertTickMs?: number;
  /**
   * Alert receivers (webhooks, SMTP servers) on this machine's own or its link's addresses
   * (loopback, link-local such as 169.254.169.254, unspecified, multicast, broadcast): delivered to,
   * or refused (an editor's receiver must not make the server call services on its own host).
   * Applies to the in-process managers and to test notifications.
   * @default 'allow' when `host` is a loopback address (its users are on this machine already), 'deny' otherwise
   */
  alertLocalReceivers?: 'allow' | 'deny';
}

export interface RunningServer {
  app: FastifyInstance;
  inventory: InventoryService;
  tokens: TokenService;
  url: string;
  adminTokenPath: string;
  adminToken: string;
  /** Re-reads the TLS certificate and key (SIGHUP): new connections get them, open ones go on. Throws, keeping the old ones, when they are unusable. */
  reloadTls(): string;
  close(): Promise<void>;
}

type Defaulted = 'externalUrl' | 'alertTickMs' | 'store' | 'oidc' | 'tls' | 'agentCa' | 'maxConnections' | 'maxConnectionsPerAddress' | 'headerTimeoutMs' | 'keepAliveTimeoutMs';
export type CompiledServerOptions = Readonly<Required<Omit<ServerOptions, Defaulted>> & Pick<ServerOptions, Defaulted>>;

/**
 * Options filled with their defaults, frozen; the listener's own defaults are filled by buildApp.
 * An OIDC issuer without an audience or authorized party is refused here, before anything is opened.
 */
export function compileServerOptions(o: ServerOptions): CompiledServerOptions {
  if (o.oidc) compileOidcOptions(o.oidc);
  if (o.acceptors !== undefined && !(Number.isInteger(o.acceptors) && o.acceptors >= 1 && o.acceptors <= 1024)) throw new RangeError(`acceptors must be a whole number from 1 to 1024 (got ${o.acceptors})`);
  if (o.agentCa && !o.tls) throw new Error('mutual TLS for agents (--agent-ca-cert, --agent-ca-key) needs the server to serve TLS itself: give --tls-cert and --tls-key too');
  return Object.freeze({
    dataDir: resolve(o.dataDir ?? '.eim'),
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 8080,
    store: o.store,
    synchronous: o.synchronous ?? 'full',
    logLevel: o.logLevel ?? 'info',
    logFormat: o.logFormat ?? defaultLogFormat(process.stdout.isTTY),
    retentionSeconds: o.retentionSeconds ?? 3600,
    retentionEvents: o.retentionEvents ?? 1_000_000,
    bookmarkMs: o.bookmarkMs ?? 10_000,
    oidc: o.oidc,
    rateLimitRps: o.rateLimitRps ?? 1000,
    maxWatchesPerToken: o.maxWatchesPerToken ?? 64,
    maxWatchesPerProject: o.maxWatchesPerProject ?? 250,
    maxWatchStreams: o.maxWatchStreams ?? 1000,
    tls: o.tls,
    agentCa: o.agentCa,
    maxConnections: o.maxConnections,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress,
    acceptors: o.acceptors ?? 32,
    headerTimeoutMs: o.headerTimeoutMs,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs,
    managers: o.managers ?? 'in-process',
    metricsPublic: o.metricsPublic ?? true,
    southbound: o.southbound ?? {},
    telemetry: o.telemetry ?? {},
    maintenanceGraceSeconds: o.maintenanceGraceSeconds ?? 900,
    externalUrl: o.externalUrl,
    alertTickMs: o.alertTickMs,
    alertLocalReceivers: o.alertLocalReceivers ?? (isLoopbackHost(o.host ?? '127.0.0.1') ? 'allow' : 'deny'),
  });
}

/** Pending connections the kernel keeps for the server to accept (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 8192;

/**
 * Starts the control plane: store, Inventory, HTTP API. On first start it creates project
 * `default` and writes an admin token to `<data-dir>/admin.token` (0600).
 * @example const s = await startServer({ dataDir: '.eim', port: 8080 }); … await s.close()
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const o = compileServerOptions(options);
  const log = createServerLog({ level: o.logLevel, format: o.logFormat });
  // Unusable certificate files stop the start before anything is opened.
  const tls = o.tls ? readTlsFiles(o.tls) : undefined;
  const agentCa = o.agentCa ? await AgentCa.read(o.agentCa) : undefined;
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ url: o.store, dataDir: o.dataDir, synchronous: o.synchronous });
  const inventory = new InventoryService(store, { retention: { minAgeMs: o.retentionSeconds * 1000, minEvents: o.retentionEvents } });
  await inventory.start();
  // Asked of the store first: whether this start made the project (a new data dir on a shared database finds it made).
  const createdDefault = await store.ensureProject('default');
  await inventory.ensureProject('default');
  if (createdDefault) await inventory.seedProject('default');
  const tokens = await TokenService.open({ auth: store.auth, oidc: o.oidc, soleWriter: store.dialect === 'sqlite' });
  const adminTokenPath = join(o.dataDir, 'admin.token');
  const firstStart = !existsSync(adminTokenPath);
  let adminToken = firstStart ? '' : readFileSync(adminTokenPath, 'utf8').trim();
  const valid = adminToken !== '' && (await tokens.verify(adminToken).then(() => true, () => false));
  if (valid) {
    log.info(`admin token: ${adminTokenPath}`);
  } else {
    adminToken = (await tokens.issue({ subject: 'admin', grants: [{ project: ALL_PROJECTS, role: 'admin' }], ttlSeconds: ADMIN_TTL })).token;
    writeFileSync(adminTokenPath, `${adminToken}\n`, { mode: 0o600 });
    chmodSync(adminTokenPath, 0o600);
    const why = firstStart ? 'first start' : 'the admin token was no longer valid';
    const project = createdDefault ? 'created project "default" and wrote' : 'wrote';
    log.info(`${why}: ${project} an admin token to ${adminTokenPath} (mode 0600, valid 1 year)`);
  }
  const telemetry = new TelemetryService(store.telemetry, { ...o.telemetry, onError: (m, e) => log.warn(e ? { err: e } : {}, m) });
  let managers: Managers | undefined;
  let listenUrl = '';
  const app = await buildApp({
    metrics: { alertNotifications: () => managers?.stats().alerts.notifier.notifications ?? {} },
    externalUrl: () => o.externalUrl ?? listenUrl,
    allowLocalReceivers: o.alertLocalReceivers === 'allow',
    inventory,
    tokens,
    telemetry,
    logger: log,
    bookmarkMs: o.bookmarkMs,
    adminTokenPath,
    rateLimit: { rps: o.rateLimitRps },
    maxWatchesPerToken: o.maxWatchesPerToken,
    maxWatchesPerProject: o.maxWatchesPerProject,
    maxWatchStreams: o.maxWatchStreams,
    metricsPublic: o.metricsPublic,
    listener: {
      tls,
      agentCa: agentCa?.certPem,
      maxConnections: o.maxConnections,
      maxConnectionsPerAddress: o.maxConnectionsPerAddress,
      headerTimeoutMs: o.headerTimeoutMs,
      keepAliveTimeoutMs: o.keepAliveTimeoutMs,
    },
  });
  const southbound = await startSouthbound(app, {
    service: inventory,
    tokens,
    telemetry,
    limits: o.southbound,
    agentCa,
    maintenanceGraceMs: o.maintenanceGraceSeconds * 1000,
    // Several servers on one database: one of them at a time judges the agents' leases.
    ...(store.dialect === 'postgres' && o.store ? { leaderUrl: o.store } : {}),
    onError: (e) => log.warn({ err: e }, 'southbound write failed; will retry'),
  });
  // The managers use the Inventory interface only; in this process it is the in-process one.
  const managerCaller = { subject: 'managers', grants: [{ project: ALL_PROJECTS, role: 'manager' as const }] };
  // `fence`: the leader epoch taken with the managers lock of a shared database (see below).
  const startLocal = (fence?: number) =>
    startManagers(inventory.as(fence === undefined ? managerCaller : { ...managerCaller, fence }), {
      onError: (e) => log.warn({ err: e }, 'manager error'),
      alerts: {
        revealSpec: (project, kind, id) => inventory.revealSpec(managerCaller, project, kind, id),
        metricValue: async (hostId, name) => (await store.telemetry.latestValue(hostId, name))?.value,
        externalUrl: o.externalUrl ?? (() => listenUrl),
        tickMs: o.alertTickMs,
        allowLocalReceivers: o.alertLocalReceivers === 'allow',
      },
    });
  let lease: AdvisoryLease | undefined;
  if (o.managers === 'in-process' && store.dialect === 'postgres' && o.store) {
    // Several servers on one database: the managers run in one of them at a time (an OS update
    // rollout counts its slots in one process), and another takes over when that one goes.
    lease = new AdvisoryLease({
      url: o.store,
      keys: MANAGERS_LOCK,
      acquired: async () => {
        // A new epoch before the first write: from now on the store refuses what the managers of a
        // previous holder still write (one frozen, or not yet aware that its lock is gone).
        managers = await startLocal(await store.takeLeaderEpoch());
        log.info('managers: running in this process (it holds the managers lock of this database)');
      },
      lost: async () => {
        const m = managers;
        managers = undefined;
        log.warn('managers: stopping them here (the connection holding the managers lock broke); competing for it again');
        await m?.stop();
      },
      onError: (e) => log.warn({ err: e }, 'managers lock'),
    });
    await lease.start();
    if (!lease.held) log.info('managers: standby (another server on this database runs them); this one takes over when that one stops');
  } else if (o.managers === 'in-process') {
    managers = await startLocal();
  }
  telemetry.start();
  if (o.telemetry.otlpForward) log.info(`telemetry: forwarding what agents send to the OpenTelemetry Collector at ${new URL(o.telemetry.otlpForward).origin}`);
  // Connections waiting to be accepted: a site of machines powering on at once opens thousands a
  // second while the event loop is busy with their enrolments; past the queue the kernel drops
  // them and the agents retry. Node's default is 511; the kernel caps this at net.core.somaxconn.
  const address = await app.listen({ host: o.host, port: o.port, backlog: LISTEN_BACKLOG });
  // More descriptors of the listening socket, added in the background (a helper process, ~0.1 s): the
  // server serves from its own meanwhile.
  const acceptors = startAcceptors(app.server, o.acceptors - 1, LISTEN_BACKLOG, (e) => log.warn({ err: e }, 'listening socket: its extra descriptors'));
  const url = address.replace('[::1]', 'localhost');
  listenUrl = url;
  if (tls) logCertificate(log, tls);
  if (agentCa) log.info(`mutual TLS for agents: every southbound call but enrolment needs the agent's client certificate; ${agentCa.summary}`);
  if (!tls && !isLoopbackHost(o.host)) for (const line of plainHttpWarning(o.host, Number(new URL(url).port))) log.warn(line);
  if (o.managers === 'none') log.info('managers: none in this process (run eim managers --inventory URL --token T)');
  if (o.alertLocalReceivers === 'deny') log.info(LOCAL_RECEIVERS_REFUSED);
  log.info(`eim listening on ${url} (store: ${store.dialect === 'sqlite' ? join(o.dataDir, 'eim.db') : 'postgres'}, revision ${inventory.hub.last})`);
  let closed = false;
  return {
    app,
    inventory,
    tokens,
    url,
    adminTokenPath,
    adminToken,
    reloadTls() {
      if (!o.tls) throw new Error('this server runs without TLS (no --tls-cert and --tls-key): nothing to reload');
      const next = readTlsFiles(o.tls);
      // Only new connections use it: open streams keep the session they have.
      // The agent CA goes with it: client certificates are still requested and verified.
      (app.server as unknown as https.Server).setSecureContext(tlsServerOptions(next, agentCa?.certPem));
      logCertificate(log, next, 'reloaded the certificate and key: ');
      return next.summary;
    },
    async close() {
      if (closed) return;
      closed = true;
      tokens.stop();
      await lease?.stop();
      await managers?.stop();
      await southbound.stop();
      await telemetry.stop();
      await inventory.stop();
      acceptors.close();
      await app.close();
      await store.close();
    },
  };
}

/** Logs the certificate in use; a warning when it has expired or expires within 14 days. */
function logCertificate(log: Logger, tls: TlsMaterial, what = ''): void {
  const daysLeft = (tls.validTo.getTime() - Date.now()) / 86_400_000;
  if (daysLeft < 0) log.warn(`TLS: ${what}${tls.summary}: the certificate HAS EXPIRED; clients will refuse it. Renew it and send SIGHUP`);
  else if (daysLeft < 14) log.warn(`TLS: ${what}${tls.summary}: the certificate expires in ${Math.floor(daysLeft)} day(s); renew it and send SIGHUP`);
  else log.info(`TLS: ${what}${tls.summary}`);
}
