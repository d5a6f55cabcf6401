import type { FastifyInstance } from 'fastify';
import { ALL_PROJECTS, type Caller } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import type { ServerMetrics } from '../metrics.ts';
import { callerOf } from '../request-helpers.ts';

/**
 * Health, readiness and the OpenAPI document: no token needed. Metrics: a token (the auth hook
 * asks for one) unless `metricsPublic`; a token for some projects sees the fleet series of those
 * projects only (the series without a project label, this server's own counters, it sees whole).
 */
export function registerSystemRoutes(app: FastifyInstance, inventory: InventoryService, metrics: ServerMetrics, o: { metricsPublic: boolean }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      const revision = await inventory.store.currentRevision();
      return { status: 'ready', revision };
    } catch {
      return reply.code(503).send({ error: { code: 'unavailable', message: 'the store is not reachable' } });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    const text = await metrics.registry.metrics();
    const shown = o.metricsPublic ? text : onlyProjectsOf(callerOf(req), text);
    return reply.type(metrics.registry.contentType).send(shown);
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

/** The exposition without the samples labelled with a project the caller has no role in. */
export function onlyProjectsOf(caller: Caller, text: string): string {
  if (caller.grants.some((g) => g.project === ALL_PROJECTS)) return text;
  const mine = new Set(caller.grants.map((g) => g.project));
  // Project names are lower-case letters, digits and '-': a label value needs no unescaping.
  return text
    .split('\n')
    .filter((line) => {
      const m = /[{,]project="([^"]*)"/.exec(line);
      return !m || line.startsWith('#') || mine.has(m[1]);
    })
    .join('\n');
}
