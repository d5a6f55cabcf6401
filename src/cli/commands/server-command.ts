import { type Command, InvalidArgumentError, Option } from 'commander';

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

const requireJwks = (url: string | undefined): string => {
  if (!url) throw new Error('--oidc-issuer needs --oidc-jwks-url too');
  return url;
};

/** `eim server`: the control plane in this process. */
export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the control plane (inventory and API) in this process')
    .addOption(new Option('--data-dir <dir>', 'SQLite file, signing key and admin token').env('EIM_DATA_DIR').default('.eim'))
    .addOption(new Option('--host <host>', 'address to listen on').env('EIM_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('EIM_PORT').default(8080).argParser(port))
    .addOption(new Option('--store <url>', 'postgres://user@host:5432/db for PostgreSQL; embedded SQLite in the data dir when absent').env('EIM_STORE'))
    .addOption(new Option('--sync <mode>', 'SQLite durability: full (survives power loss) or normal (survives a process crash)').env('EIM_SYNC').choices(['full', 'normal']).default('full'))
    .addOption(new Option('--retention-seconds <s>', 'keep events at least this long').env('EIM_RETENTION_SECONDS').default(3600).argParser(whole))
    .addOption(new Option('--retention-events <n>', 'and at least this many').env('EIM_RETENTION_EVENTS').default(1_000_000).argParser(whole))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug').env('EIM_LOG_LEVEL').default('info'))
    .addOption(new Option('--log-format <format>', 'pretty: one readable line per record; json: one JSON object per line (default: pretty on a terminal, json otherwise)').env('EIM_LOG_FORMAT').choices(['pretty', 'json']))
    .addOption(new Option('--rate-limit <rps>', 'requests per second per token (0: off; manager and agent tokens get 10×)').env('EIM_RATE_LIMIT').default(1000).argParser((v) => (v === '0' ? 0 : whole(v))))
    .addOption(new Option('--max-watches <n>', 'open watch streams per token').env('EIM_MAX_WATCHES').default(64).argParser(whole))
    .addOption(new Option('--oidc-issuer <url>', "accept tokens of this OIDC issuer too (its 'iss')").env('EIM_OIDC_ISSUER'))
    .addOption(new Option('--oidc-jwks-url <url>', "the issuer's JWKS URL (keys to verify its tokens)").env('EIM_OIDC_JWKS_URL'))
    .addOption(new Option('--oidc-roles-claim <path>', 'claim with role names like <project>_im-rw, <project>_im-r').env('EIM_OIDC_ROLES_CLAIM').default('realm_access.roles'))
    .addOption(new Option('--oidc-audience <aud>', "required 'aud' of OIDC tokens").env('EIM_OIDC_AUDIENCE'))
    .addOption(new Option('--managers <where>', 'run the resource managers in this process, or none (run them with eim managers)').env('EIM_MANAGERS').choices(['in-process', 'none']).default('in-process'))
    .addHelpText(
      'after',
      `
Examples:
  eim server --data-dir /var/lib/eim --port 8080
  eim server --store postgres://eim@db:5432/eim --host 0.0.0.0
  eim server --oidc-issuer https://kc.example/realms/edge --oidc-jwks-url https://kc.example/realms/edge/protocol/openid-connect/certs
  eim server --managers none   # then: eim managers --inventory http://127.0.0.1:8080 --token <manager token>`,
    )
    .action(async (o) => {
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
          managers: o.managers,
          ...(o.oidcIssuer
            ? { oidc: { issuer: o.oidcIssuer, jwksUrl: requireJwks(o.oidcJwksUrl), rolesClaim: o.oidcRolesClaim, ...(o.oidcAudience ? { audience: o.oidcAudience } : {}) } }
            : {}),
        });
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
