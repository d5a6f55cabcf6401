import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { type Caller, CreateBody, EimError, type KindDef, KINDS, Labels, Name, ResourceEnvelope } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { kindOperationIds } from '../openapi.ts';
import { callerOf, ifMatchOf, intParam, projectParam, stringParam } from '../request-helpers.ts';

const ErrorBody = Type.Ref('Error');
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

function resourceSchema(def: KindDef) {
  return Type.Object({ ...ResourceEnvelope, spec: def.spec ?? Type.Object({}), status: def.status ?? Type.Object({}) }, { title: def.kind, description: def.description });
}

/**
 * The generic REST routes of every kind in the registry (ARCHITECTURE.md §5): list, create, get,
 * merge-patch, status patch, delete; and the cross-project list for managers and cluster admins.
 */
export function registerResourceRoutes(app: FastifyInstance, inventory: InventoryService): void {
  for (const def of KINDS) {
    const base = `/v1/projects/:project/${def.path}`;
    const tags = [def.kind];
    const resource = resourceSchema(def);
    const op = kindOperationIds(def);
    const listSchema = {
      tags,
      operationId: op.list,
      summary: `List ${def.kind}s`,
      querystring: Type.Object({
        filter: Type.Optional(Type.String({ description: 'AIP-160 filter, e.g. labels.line = "3" AND spec.siteId = site-0a1b2c3d' })),
        orderBy: Type.Optional(Type.String({ description: 'AIP-132, e.g. "name desc, createdAt"' })),
        pageSize: Type.Optional(
          Type.Integer({
            minimum: 1, maximum: 1000, default: 20,
            description: 'At most this many items; a page also stops at 4 MiB of resources (at least one item), so large ones come fewer per page. More follow exactly when nextPageToken is present',
          }),
        ),
        pageToken: Type.Optional(Type.String()),
      }),
      response: { 200: Type.Object({ items: Type.Array(resource), revision: Type.Integer(), nextPageToken: Type.Optional(Type.String()), totalSize: Type.Integer() }), ...errors },
    };
    const list = async (req: { params: unknown; query: unknown; caller?: Caller }) => {
      const q = req.query as Record<string, string | undefined>;
      const page = await inventory.list(callerOf(req), projectParam(req.params), def.kind, {
        filter: stringParam(q.filter, 'filter'),
        orderBy: stringParam(q.orderBy, 'orderBy'),
        pageSize: intParam(q.pageSize, 'pageSize', 1),
        pageToken: stringParam(q.pageToken, 'pageToken'),
      });
      return def.kind === 'Host' ? { ...page, items: await withLastSeen(inventory, page.items) } : page;
    };
    app.get(base, { schema: listSchema }, list);
    app.get(`/v1/${def.path}`, { schema: { ...listSchema, operationId: op.listAllProjects, summary: `List ${def.kind}s of every project (managers, cluster admins)` } }, list);

    {
      app.post(
        base,
        { schema: { tags, operationId: op.create, summary: `Create a ${def.kind}`, body: def.spec ? CreateBody(def.spec) : Type.Object({ name: Name, labels: Type.Optional(Labels), status: def.status! }), response: { 201: resource, ...errors } } },
        async (req, reply) => {
          const body = req.body as Record<string, unknown> | undefined;
          if (body === undefined || body === null) throw new EimError('invalid_argument', 'the body is empty; send a JSON object with name, labels and spec');
          const created = await inventory.create(callerOf(req), projectParam(req.params), def.kind, body as never);
          return reply.code(201).send(created);
        },
      );
    }

    const one = `${base}/:id`;
    app.get(one, { schema: { tags, operationId: op.get, summary: `Get a ${def.kind}`, response: { 200: resource, ...errors } } }, async (req) => {
      const r = await inventory.get(callerOf(req), projectParam(req.params), def.kind, (req.params as { id: string }).id);
      return def.kind === 'Host' ? (await withLastSeen(inventory, [r]))[0] : r;
    });

    app.patch(
      one,
      {
        schema: {
          tags,
          operationId: op.patch,
          summary: `Change a ${def.kind} (JSON merge patch of name, labels${def.spec ? ', spec' : ''})`,
          headers: Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'Only if still at this revision: "42"' })) }),
          body: Type.Object({ name: Type.Optional(Name), labels: Type.Optional(Type.Union([Labels, Type.Null()])), ...(def.spec ? { spec: Type.Optional(Type.Object({})) } : {}) }),
          response: { 200: resource, ...errors },
        },
      },
      async (req) => inventory.update(callerOf(req), projectParam(req.params), def.kind, (req.params as { id: string }).id, (req.body ?? {}) as never, { ifMatch: ifMatchOf(req.headers['if-match']) }),
    );

    if (def.writeOnly) {
      app.get(
        `${one}/secrets`,
        {
          schema: {
            tags, operationId: `reveal${def.kind}Spec`, summary: `A ${def.kind}'s spec with its write-only fields (managers only)`,
            response: { 200: Type.Object({ spec: def.spec! }), ...errors },
          },
        },
        async (req) => ({ spec: await inventory.revealSpec(callerOf(req), projectParam(req.params), def.kind, (req.params as { id: string }).id) }),
      );
    }

    if (def.status) {
      app.patch(
        `${one}/status`,
        { schema: { tags, operationId: op.patchStatus, summary: `Write a ${def.kind}'s status (managers; JSON merge patch)`, body: Type.Partial(def.status), response: { 200: resource, ...errors } } },
        async (req) =>
          inventory.updateStatus(callerOf(req), projectParam(req.params), def.kind, (req.params as { id: string }).id, (req.body ?? {}) as never, {
            ifMatch: ifMatchOf(req.headers['if-match']),
          }),
      );
    }

    app.delete(
      one,
      {
        schema: {
          tags,
          operationId: op.delete,
          summary: def.twoPhaseDelete ? `Delete a ${def.kind}: marks desiredState deleted (202); its manager removes it. force=true removes at once (admin)` : `Delete a ${def.kind}`,
          querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
          response: { 200: resource, 202: resource, ...errors },
        },
      },
      async (req, reply) => {
        const force = String((req.query as { force?: string }).force ?? 'false');
        if (force !== 'true' && force !== 'false') throw new EimError('invalid_argument', 'force must be true or false');
        const r = await inventory.delete(callerOf(req), projectParam(req.params), def.kind, (req.params as { id: string }).id, {
          force: force === 'true',
          ifMatch: ifMatchOf(req.headers['if-match']),
        });
        return reply.code(r.removed ? 200 : 202).send(r.resource);
      },
    );
  }
}

/**
 * Hosts as a read answers them: `status.lastSeenAt` from the lease table when that is later than
 * the stored one. Servers flush what their agents' heartbeats told them there every 2 s, while the
 * stored field is written at most once a minute (a heartbeat is no store write): so a read is true
 * to within the flush period, whichever server the agent talks to. Filters and the event stream
 * see the stored value.
 */
async function withLastSeen<T extends { id: string; status: Record<string, unknown> }>(inventory: InventoryService, hosts: T[]): Promise<T[]> {
  if (hosts.length === 0) return hosts;
  const seen = new Map<string, number>();
  for (const l of await inventory.store.leases.get(hosts.map((h) => h.id))) seen.set(l.hostId, Math.max(seen.get(l.hostId) ?? 0, l.lastSeen));
  return hosts.map((h) => {
    const lease = seen.get(h.id);
    const stored = typeof h.status.lastSeenAt === 'string' ? Date.parse(h.status.lastSeenAt) : Number.NaN;
    if (lease === undefined || (Number.isFinite(stored) && stored >= lease)) return h;
    return { ...h, status: { ...h.status, lastSeenAt: new Date(lease).toISOString() } };
  });
}
