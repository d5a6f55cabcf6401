import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EimError } from '../../api/index.ts';
import { type ConsoleAsset, defaultConsoleDir, loadConsoleAssets } from './console-assets.ts';

export interface ConsoleRouteOptions {
  /** The built console (index.html + assets/). @default dist/console under the package root */
  dir?: string;
}

// The console fetches only from its own origin (the API); the policy makes that a rule the browser enforces.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const IMMUTABLE = 'public, max-age=31536000, immutable';
const ASSET_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The web console at `/`: index.html revalidated on every load (`no-cache` + ETag), the
 * content-hashed files under `/assets/` cached for good. Everything else (`/v1`, `/southbound`,
 * `/openapi.json`, health, metrics) is other routes' business. Answers 503 when the console is
 * not built, saying how to build it.
 * @example registerConsoleRoutes(app) // GET / → index.html
 */
export function registerConsoleRoutes(app: FastifyInstance, options: ConsoleRouteOptions = {}): void {
  const dir = options.dir ?? defaultConsoleDir();
  const built = loadConsoleAssets(dir);
  const notBuilt = () => new EimError('unavailable', `the web console is not built (no ${dir}/index.html): run "npm run build", or start the server with "npm start"`);

  const index = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!built) throw notBuilt();
    return send(req, reply.header('content-security-policy', CSP), built.index, 'no-cache');
  };
  app.get('/', { schema: { hide: true } }, index);
  app.get('/index.html', { schema: { hide: true } }, index);
  app.get('/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    if (!built) throw notBuilt();
    const file = (req.params as { file: string }).file;
    const a = ASSET_NAME.test(file) ? built.assets.get(file) : undefined;
    if (!a) throw new EimError('not_found', `no console asset ${file.slice(0, 100)}: reload the page (the console was rebuilt)`);
    return send(req, reply, a, IMMUTABLE);
  });
}

function send(req: FastifyRequest, reply: FastifyReply, a: ConsoleAsset, cacheControl: string): FastifyReply {
  void reply.header('cache-control', cacheControl).header('etag', a.etag).header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  return reply.type(a.type).send(a.body);
}
