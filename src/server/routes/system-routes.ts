import type { FastifyInstance } from 'fastify';
import type { InventoryService } from '../../inventory/index.ts';
import type { ServerMetrics } from '../metrics.ts';

/** Health, readiness, metrics and the OpenAPI document: no token needed. */
export function registerSystemRoutes(app: FastifyInstance, inventory: InventoryService, metrics: ServerMetrics): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      const revision = await inventory.store.currentRevision();
      return { status: 'ready', revision };
    } catch {
      return reply.code(503).send({ error: { code: 'unavailable', message: 'the store is not reachable' } });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
