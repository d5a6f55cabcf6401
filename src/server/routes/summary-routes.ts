import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { HostSummary, SUMMARY_GROUP_BY_HINT } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { callerOf, projectParam, stringParam } from '../request-helpers.ts';

const ErrorBody = Type.Ref('Error');

/**
 * `GET /v1/projects/{p}/hosts:summary?filter=&groupBy=`: the fleet summary, counted in the store
 * (the console's tiles, its region and site counts, `eim get hosts --summary`).
 */
export function registerSummaryRoutes(app: FastifyInstance, inventory: InventoryService): void {
  // `::` is a literal colon in a route path.
  app.get(
    '/v1/projects/:project/hosts::summary',
    {
      schema: {
        tags: ['Host'],
        operationId: 'summarizeHosts',
        summary: 'Count hosts per connection/health category, over the project and per site, region or label',
        querystring: Type.Object({
          filter: Type.Optional(Type.String({ description: 'AIP-160 filter over hosts, e.g. inheritedLabels.env = "canary"' })),
          groupBy: Type.Optional(Type.String({ description: SUMMARY_GROUP_BY_HINT })),
        }),
        response: { 200: HostSummary, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      return inventory.summarizeHosts(callerOf(req), projectParam(req.params), { filter: stringParam(q.filter, 'filter'), groupBy: stringParam(q.groupBy, 'groupBy') });
    },
  );
}
