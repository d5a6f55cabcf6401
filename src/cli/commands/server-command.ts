import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../duration.ts';
import { alertLocalReceiversOption } from '../alert-local-receivers-option.ts';
import { boundHeapGrowth, heapGrowthOption } from '../heap-growth.ts';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
};
const whole = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
};

const seconds = (v: string) => {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
/** `1GiB`, `256MiB`, `500MB`, `64KiB` or a number of bytes. */
export const byteSize = (v: string) => {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(v.trim());
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
  const n = m ? Math.floor(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]) : NaN;
  if (!(n >= 1)) throw new InvalidArgumentError('expected a size like 1GiB, 256MiB or a number of bytes');
  return n;
};
/** `24h` (full resolution) or `24h,30d` (and the 5-minute rollups). */
const metricsRetention = (v: string) => {
  const [raw, rollups, ...rest] = v.split(',');
  if (rest.length > 0 || !raw) throw new InvalidArgumentError('expected <full resolution>[,<rollups>], e.g. 24h,30d');
  return { raw: seconds(raw), ...(rollups ? { rollups: seconds(rollups) } : {}) };
};
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

const requireJwks = (url: string | undefined): string => {
  if (!url) throw new Error('--oidc-issuer needs --oidc-jwks-url too');
  return url;
};

/** --tls-cert and --tls-key come together, or not at all. */
function tlsFiles(cert: string | undefined, key: string | undefined): { certFile: string; keyFile: string } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error('--tls-cert and --tls-key go together: give both (or EIM_TLS_CERT and EIM_TLS_KEY)');
  return { certFile: cert, keyFile: key };
}

/** --agent-ca-cert and --agent-ca-key come together, or not at all; --agent-cert-ttl goes with them. */
function agentCaFiles(cert: string | undefined, key: string | undefined, ttl: string): { certFile: string; keyFile: string; certificateTtlSeconds: number } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error('--agent-ca-cert and --agent-ca-key go together: give both (or EIM_AGENT_CA_CERT and EIM_AGENT_CA_KEY)');
  return { certFile: cert, keyFile: key, certificateTtlSeconds: parseDuration(ttl) };
}

/** `eim server`: the control plane in this process. */
export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the control plane (inventory and API) in this process')
    .addOption(new Option('--data-dir <dir>', 'the admin token, and the embedded SQLite store (which also holds the signing keys) unless --store').env('EIM_DATA_DIR').default('.eim'))
    .addOption(new Option('--host <host>', 'address to listen on').env('EIM_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('EIM_PORT').default(8080).argParser(port))
    .addOption(new Option('--store <url>', 'postgres://user@host:5432/db for PostgreSQL; embedded SQLite in the data dir when absent').env('EIM_STORE'))
    .addOption(new Option('--sync <mode>', 'SQLite durability: full (survives power loss) or normal (survives a process crash)').env('EIM_SYNC').choices(['full', 'normal']).default('full'))
    .addOption(new Option('--retention-seconds <s>', 'keep events at least this long').env('EIM_RETENTION_SECONDS').default(3600).argParser(whole))
    .addOption(new Option('--retention-events <n>', 'and at least this many').env('EIM_RETENTION_EVENTS').default(1_000_000).argParser(whole))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug').env('EIM_LOG_LEVEL').default('info'))
    .addOption(new Option('--log-format <format>', 'pretty: one readable line per record; json: one JSON object per line (default: pretty on a terminal, json otherwise)').env('EIM_LOG_FORMAT').choices(['pretty', 'json']))
    .addOption(new Option('--rate-limit <rps>', 'requests per second per token (0: off; manager and agent tokens get 10×)').env('EIM_RATE_LIMIT').default(1000).argParser((v) => (v === '0' ? 0 : whole(v))))
    .addOption(new Option('--tls-cert <file>', 'serve HTTPS with this certificate chain (PEM); re-read on SIGHUP').env('EIM_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the private key of --tls-cert (PEM); re-read on SIGHUP').env('EIM_TLS_KEY'))
    .addOption(new Option('--agent-ca-cert <file>', "mutual TLS for agents: this CA (PEM, self-signed, for agents only) signs each agent's client certificate at enrolment, and every other southbound call needs it (with --tls-cert)").env('EIM_AGENT_CA_CERT'))
    .addOption(new Option('--agent-ca-key <file>', 'the private key of --agent-ca-cert (PEM)').env('EIM_AGENT_CA_KEY'))
    .addOption(new Option('--agent-cert-ttl <duration>', 'lifetime of agent client certificates (agents renew them at 30-50 % of it left; one offline longer enrols again)').env('EIM_AGENT_CERT_TTL').default('7d'))
    .addOption(new Option('--max-connections <n>', 'open connections in all (default: 16384, or the open-file limit minus 512 when lower)').env('EIM_MAX_CONNECTIONS').argParser(whole))
    .addOption(new Option('--max-connections-per-ip <n>', 'open connections per client address (an IPv6 /64 counts as one); 127.0.0.1 and ::1 count toward --max-connections only').env('EIM_MAX_CONNECTIONS_PER_IP').default(512).argParser(whole))
    .addOption(new Option('--acceptors <n>', 'descriptors of the listening socket to watch: a busy server accepts one new connection per descriptor and turn of its event loop (1: its own only)').env('EIM_ACCEPTORS').default(32).argParser(whole))
    .addOption(new Option('--header-timeout <duration>', 'close a connection that has not sent a complete request head within this').env('EIM_HEADER_TIMEOUT').default(10, '10s').argParser(seconds))
    .addOption(new Option('--keep-alive-timeout <duration>', 'close a keep-alive connection idle for this long (watch and agent streams are never idle-closed)').env('EIM_KEEP_ALIVE_TIMEOUT').default(30, '30s').argParser(seconds))
    .addOption(new Option('--max-watches <n>', 'open watch streams per token').env('EIM_MAX_WATCHES').default(64).argParser(whole))
    .addOption(new Option('--max-watch-streams-per-project <n>', "open watch streams of one project, all its tokens together (429 past it): one tenant cannot take the server's every stream").env('EIM_MAX_WATCH_STREAMS_PER_PROJECT').default(250).argParser(whole))
    .addOption(new Option('--max-watch-streams <n>', 'open watch streams in this server, all tokens together (503 past it)').env('EIM_MAX_WATCH_STREAMS').default(1000).argParser(whole))
    .addOption(new Option('--oidc-issuer <url>', "accept tokens of this OIDC issuer too (its 'iss')").env('EIM_OIDC_ISSUER'))
    .addOption(new Option('--oidc-jwks-url <url>', "the issuer's JWKS URL (keys to verify its tokens)").env('EIM_OIDC_JWKS_URL'))
    .addOption(new Option('--oidc-roles-claim <path>', 'claim with role names like <project>_im-rw, <project>_im-r').env('EIM_OIDC_ROLES_CLAIM').default('realm_access.roles'))
    .addOption(new Option('--oidc-audience <aud,…>', "accept only OIDC tokens whose 'aud' names one of these (this or --oidc-authorized-party is required)").env('EIM_OIDC_AUDIENCE').argParser(list))
    .addOption(new Option('--oidc-authorized-party <client,…>', "accept only OIDC tokens whose 'azp' (or 'client_id') is one of these client ids").env('EIM_OIDC_AUTHORIZED_PARTY').argParser(list))
    .addOption(new Option('--agent-token-ttl <duration>', 'lifetime of agent tokens (agents renew them at about half of it; an agent offline longer enrols again)').env('EIM_AGENT_TOKEN_TTL').default('24h'))
    .addOption(new Option('--enroll-rate <n>', 'enrolments per second per enrollment token, after a burst of --enroll-burst (429 beyond)').env('EIM_ENROLL_RATE').default(1000).argParser(whole))
    .addOption(new Option('--enroll-burst <n>', 'enrolments one enrollment token may make at once').env('EIM_ENROLL_BURST').default(2000).argParser(whole))
    .addOption(new Option('--metrics-retention <raw[,rollups]>', 'keep full-resolution samples this long, and their 5-minute rollups this long').env('EIM_METRICS_RETENTION').default({ raw: 86_400, rollups: 30 * 86_400 }, '24h,30d').argParser(metricsRetention))
    .addOption(new Option('--metrics-budget <size>', 'bytes of samples and rollups kept in the store; past it the oldest go first').env('EIM_METRICS_BUDGET').default(1024 ** 3, '1GiB').argParser(byteSize))
    .addOption(new Option('--logs-retention <duration>', 'keep agents\' log lines this long').env('EIM_LOGS_RETENTION').default(7 * 86_400, '7d').argParser(seconds))
    .addOption(new Option('--logs-budget <size>', 'bytes of log lines kept in the store; past it the oldest go first').env('EIM_LOGS_BUDGET').default(256 * 1024 ** 2, '256MiB').argParser(byteSize))
    .addOption(new Option('--otlp-forward <url>', 'also forward what agents send to this OpenTelemetry Collector (its OTLP/HTTP base URL, e.g. http://otel-collector:4318)').env('EIM_OTLP_FORWARD'))
    .addOption(new Option('--metrics-auth', '/metrics needs a token of a /v1 role, and a project\'s token sees only its projects\' fleet series (without it, /metrics is open, as Prometheus scrapes by default: its fleet gauges name every project and site)').env('EIM_METRICS_AUTH'))
    .addOption(new Option('--maintenance-grace <duration>', 'inside a maintenance window, a silent host shows "maintenance" this long after its last heartbeat (a reboot), then "no connection (in maintenance)"').env('EIM_MAINTENANCE_GRACE').default(900, '15m').argParser(seconds))
    .addOption(new Option('--external-url <url>', 'the address users reach the console at, for links in alert notifications (default: the address this server listens on)').env('EIM_EXTERNAL_URL'))
    .addOption(heapGrowthOption())
    .addOption(new Option('--alert-tick <ms>', 'how often the alert manager looks for due notifications, in milliseconds').env('EIM_ALERT_TICK_MS').argParser(whole).default(1000).hideHelp())
    .addOption(alertLocalReceiversOption('a loopback --host'))
    .addOption(new Option('--managers <where>', 'run the resource managers in this process, or none (run them with eim managers)').env('EIM_MANAGERS').choices(['in-process', 'none']).default('in-process'))
    .addHelpText(
      'after',
      `
Examples:
  eim server --data-dir /var/lib/eim --port 8080
  eim server --store postgres://eim@db:5432/eim --host 0.0.0.0 --tls-cert /etc/eim/tls.crt --tls-key /etc/eim/tls.key
  kill -HUP <pid>   # re-read the certificate and key (renewed): new connections get them, open streams go on
  eim server --host 0.0.0.0 --tls-cert tls.crt --tls-key tls.key --agent-ca-cert agent-ca.crt --agent-ca-key agent-ca.key   # mutual TLS for agents
  eim server --oidc-issuer https://kc.example/realms/edge --oidc-jwks-url https://kc.example/realms/edge/protocol/openid-connect/certs --oidc-audience eim
  eim server --managers none   # then: eim managers --inventory http://127.0.0.1:8080 --token <manager token>`,
    )
    .action(async (o) => {
      boundHeapGrowth(o.heapGrowth);
      try {
        // Loaded here, not at the top: the server's dependencies would slow every other command.
        const { startServer } = await import('../../server/server.ts');
        const server = await startServer({
          dataDir: o.dataDir,
          host: o.host,
          port: o.port,
          store: o.store,
          synchronous: o.sync,
          retentionSeconds: o.retentionSeconds,
          retentionEvents: o.retentionEvents,
          logLevel: o.logLevel,
          logFormat: o.logFormat,
          rateLimitRps: o.rateLimit,
          maxWatchesPerToken: o.maxWatches,
          maxWatchesPerProject: o.maxWatchStreamsPerProject,
          maxWatchStreams: o.maxWatchStreams,
          tls: tlsFiles(o.tlsCert, o.tlsKey),
          agentCa: agentCaFiles(o.agentCaCert, o.agentCaKey, o.agentCertTtl),
          maxConnections: o.maxConnections,
          maxConnectionsPerAddress: o.maxConnectionsPerIp,
          acceptors: o.acceptors,
          headerTimeoutMs: o.headerTimeout * 1000,
          keepAliveTimeoutMs: o.keepAliveTimeout * 1000,
          managers: o.managers,
          metricsPublic: o.metricsAuth !== true,
          maintenanceGraceSeconds: o.maintenanceGrace,
          externalUrl: o.externalUrl,
          alertTickMs: o.alertTick,
          alertLocalReceivers: o.alertLocalReceivers,
          telemetry: {
            rawRetentionSeconds: o.metricsRetention.raw,
            ...(o.metricsRetention.rollups ? { rollupRetentionSeconds: o.metricsRetention.rollups } : {}),
            metricsBytes: o.metricsBudget,
            logsRetentionSeconds: o.logsRetention,
            logsBytes: o.logsBudget,
            ...(o.otlpForward ? { otlpForward: o.otlpForward } : {}),
          },
          southbound: { agentTokenTtlSeconds: parseDuration(o.agentTokenTtl), enroll: { perSecond: o.enrollRate, burst: o.enrollBurst } },
          ...(o.oidcIssuer
            ? { oidc: { issuer: o.oidcIssuer, jwksUrl: requireJwks(o.oidcJwksUrl), rolesClaim: o.oidcRolesClaim, audience: o.oidcAudience, authorizedParties: o.oidcAuthorizedParty } }
            : {}),
        });
        if (o.tlsCert) {
          // A renewed certificate is picked up without a restart; an unusable one is refused and the old one kept.
          process.on('SIGHUP', () => {
            try {
              server.reloadTls();
            } catch (e) {
              server.app.log.error(`TLS: kept the current certificate: ${(e as Error).message}`);
            }
          });
        }
        const stop = () => {
          server.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (e) {
        process.stderr.write(`eim server: ${(e as Error).message}\n`);
        process.exit(1);
      }
    });
}
