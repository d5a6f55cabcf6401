import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance, LogController } from 'fastify';
import type http from 'node:http';
import { EimError } from '../api/index.ts';
import type { InventoryService } from '../inventory/index.ts';
import { clientErrorHandler, errorHandler } from './error-handler.ts';
import { ServerMetrics, type ServerMetricsOptions } from './metrics.ts';
import { declareErrorResponses, ErrorBody, openApiOptions } from './openapi.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { registerProjectRoutes } from './routes/project-routes.ts';
import { registerResourceRoutes } from './routes/resource-routes.ts';
import { registerSystemRoutes } from './routes/system-routes.ts';
import { registerWatchRoutes } from './routes/watch-routes.ts';
import type { TokenService } from './auth/token-service.ts';
import { type RateLimitOptions, RateLimiter } from './rate-limiter.ts';
import { registerTokenRoutes } from './routes/token-routes.ts';
import { registerConsoleRoutes } from './routes/console-routes.ts';
import { ConnectionGuard } from './connection-guard.ts';
import { compileListenerOptions, type ListenerOptions, nodeServerOptions } from './listener-options.ts';
import { registerRequestLimits } from './request-limits.ts';
import { registerTelemetryRoutes } from './routes/telemetry-routes.ts';
import { registerSummaryRoutes } from './routes/summary-routes.ts';
import { TelemetryService } from './telemetry/telemetry-service.ts';
import { registerAlertRoutes } from './routes/alert-routes.ts';
import { createSenders } from '../managers/index.ts';

export interface AppOptions {
  inventory: InventoryService;
  tokens: TokenService;
  /** A pino logger; silent when absent. */
  logger?: FastifyBaseLogger;
  /** Largest request body. @default 1 MiB */
  bodyLimit?: number;
  /** Idle time before a watch BOOKMARK. @default 10000 */
  bookmarkMs?: number;
  /** Requests per second per token. @default { rps: 1000 } (services 10×) */
  rateLimit?: RateLimitOptions;
  /** Open watch streams per token (in this server process). @default 64 */
  maxWatchesPerToken?: number;
  /** Open watch streams of one project, all its tokens together (in this server process). @default 250 */
  maxWatchesPerProject?: number;
  /** Open watch streams in this server process, all tokens together. @default 1000 */
  maxWatchStreams?: number;
  /** Where the admin token is; the 401 message names its file (never the absolute path, which would tell a stranger about the server's disk). */
  adminTokenPath?: string;
  /** The built web console. @default dist/console under the package root */
  consoleDir?: string;
  /** The fleet gauges of /metrics (cache time, series limit). @default {} */
  metrics?: ServerMetricsOptions;
  /**
   * Serve /metrics without a token, as Prometheus scrapes it by default (the API contract lists it
   * beside /healthz). Its fleet gauges name every project and site: `false` (`--metrics-auth`)
   * needs a token of a /v1 role and shows only the fleet series of the token's projects (every
   * project's for `*`).
   * @default true
   */
  metricsPublic?: boolean;
  /** TLS, connection caps and timeouts of the listening socket. @default plain HTTP, the ListenerOptions defaults */
  listener?: ListenerOptions;
  /** Collected telemetry (retention, budgets, forwarding). @default a TelemetryService with the defaults, on the inventory's store */
  telemetry?: TelemetryService;
  /** The console's address for links in notifications. @default the request's origin */
  externalUrl?: () => string;
  /** The test notification (`…/alert-receivers/{id}:test`) may reach this machine's own or its link's addresses (see AlertManagerOptions.allowLocalReceivers). @default false */
  allowLocalReceivers?: boolean;
}

/**
 * The HTTP face of the Inventory: northbound REST, watch, projects, health and metrics. Schemas
 * document the routes (OpenAPI); the Inventory validates, so in-process and HTTP callers get the
 * same answers.
 * @example const app = await buildApp({ inventory, tokens }); await app.inject({ url: '/healthz' })
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const listener = compileListenerOptions(options.listener);
  const node = nodeServerOptions(listener);
  // With TLS, Fastify builds an https.Server (an http.Server with TLS in front); the instance's type stays the HTTP one.
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: true,
    requestTimeout: 30_000,
    keepAliveTimeout: listener.keepAliveTimeoutMs,
    return503OnClosing: true,
    // A bad URL (FST_ERR_BAD_URL) is answered before routing; give it the contract's error body too.
    frameworkErrors: errorHandler,
    clientErrorHandler,
    ...(listener.tls ? { https: node } : { http: node }),
  } as FastifyHttpOptions<http.Server>);
  const guard = new ConnectionGuard({ ...listener, tls: listener.tls !== undefined, log: (m) => app.log.warn(m) }).attach(app.server);
  // The Inventory validates with messages that say what to fix; the route schemas are for the OpenAPI document.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new EimError('not_found', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}; see /openapi.json`).toJSON());
  });

  await app.register(swagger, openApiOptions(packageJson.version));
  app.addSchema(ErrorBody);
  app.addHook('onRoute', declareErrorResponses);

  const telemetry = options.telemetry ?? new TelemetryService(options.inventory.store.telemetry);
  const metrics = new ServerMetrics(options.inventory, { ...options.metrics, telemetry: () => telemetry.stats });
  guard.register(metrics.registry);
  app.addHook('onResponse', async (req, reply) => {
    metrics.requestDuration.observe({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const tokenHint = options.adminTokenPath ? `; an admin finds the first token in the admin token file in the server's data directory (admin.token)` : '';
  const limiter = new RateLimiter(options.rateLimit);
  app.addHook('onRequest', async (req) => {
    // The route the URL matched decides, not the URL as written: `/%761/…` is routed to /v1 too.
    // An unmatched URL (a 404 to come) is judged by its text, so /v1's unknown routes want a token.
    const route = req.routeOptions.url;
    const path = route ?? req.url.split('?')[0];
    const guarded = path.startsWith('/v1/') || path === '/v1' || (path === '/metrics' && options.metricsPublic === false);
    if (!guarded) return;
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new EimError('unauthenticated', `missing or malformed Authorization header: send "Authorization: Bearer <token>"${tokenHint}`);
    const caller = await options.tokens.verify(m[1]);
    if (caller.grants.every((g) => g.role === 'agent' || g.role === 'enrollment')) {
      throw new EimError('permission_denied', 'agent and enrollment tokens are for /southbound/v1 only');
    }
    limiter.take(caller);
    req.caller = caller;
  });
  registerRequestLimits(app);

  registerSystemRoutes(app, options.inventory, metrics, { metricsPublic: options.metricsPublic ?? true });
  registerProjectRoutes(app, options.inventory, options.tokens);
  registerSummaryRoutes(app, options.inventory);
  registerResourceRoutes(app, options.inventory);
  registerWatchRoutes(app, options.inventory, { tokens: options.tokens, bookmarkMs: options.bookmarkMs, maxPerToken: options.maxWatchesPerToken, maxPerProject: options.maxWatchesPerProject, maxStreams: options.maxWatchStreams });
  registerTokenRoutes(app, options.inventory, options.tokens);
  registerTelemetryRoutes(app, options.inventory, telemetry);
  registerAlertRoutes(app, options.inventory, createSenders({ allowLocal: options.allowLocalReceivers ?? false }), options.externalUrl);
  registerConsoleRoutes(app, { dir: options.consoleDir });
  return app;
}
