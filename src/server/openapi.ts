import type { SwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import Type from 'typebox';
import { ERROR_STATUS } from '../api/index.ts';

/** The contract's error body (ARCHITECTURE.md §5), one shared schema (`#/components/schemas/Error`). */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum(Object.keys(ERROR_STATUS)),
      message: Type.String({ description: 'what was wrong and what to do' }),
      details: Type.Optional(Type.Object({})),
    }),
  },
  { $id: 'Error', title: 'Error' },
);

const ERROR_WORDS: Record<number, string> = {
  400: 'invalid_argument: the request is malformed or a value is out of range',
  401: 'unauthenticated: no token, or an expired or revoked one',
  403: 'permission_denied: the token lacks the role for this call',
  404: 'not_found: no such resource in this project (another project’s resources answer the same)',
  409: 'conflict (stale If-Match revision, duplicate name) or failed_precondition (transition not allowed, still referenced)',
  410: 'revision_compacted: the history before this revision is gone; list again and watch from the list’s revision',
  413: 'payload_too_large: the body is over the limit',
  429: 'rate_limited: over the token’s request rate or open watch streams; see Retry-After',
};

/**
 * The OpenAPI document's frame: what client generators need besides the routes (a license, a
 * server, the bearer scheme, tag descriptions). Operations come from the route schemas.
 * @example await app.register(swagger, openApiOptions('0.1.0'))
 */
export function openApiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'eim',
        version,
        description:
          'Edge infrastructure manager: the Inventory API (resources under /v1/projects/{project}/, the watch stream and the event log) and the southbound API agents call. See docs/api.md in the repository.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Relative: the server that served this document (its address differs per installation).
      servers: [{ url: '/', description: 'the eim server that serves this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'Projects', description: 'Projects: every resource lives in one' },
        { name: 'Tokens', description: 'Tokens (project admins) and signing keys (cluster admins)' },
        { name: 'Watch', description: 'The ordered event log: a Server-Sent Events stream and JSON pages' },
        { name: 'Southbound', description: 'What edge node agents call (agent and enrollment tokens only)' },
      ],
    },
    // Shared schemas (app.addSchema) become components named by their $id.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  };
}

/**
 * An onRoute hook: adds the error answers a route can give that its schema does not declare yet
 * (every call can be unauthenticated, forbidden or rate-limited; one with a body can be malformed
 * or too large; one naming a resource can miss it), so each operation documents its 4xx answers.
 */
export function declareErrorResponses(route: RouteOptions): void {
  const schema = route.schema;
  if (!schema || (schema as { hide?: boolean }).hide) return;
  const url = route.url;
  if (!url.startsWith('/v1/') && !url.startsWith('/southbound/')) return;
  const methods = [route.method].flat();
  const codes = new Set([400, 401, 403, 429]);
  if (methods.some((m) => m === 'POST' || m === 'PATCH' || m === 'PUT')) codes.add(413);
  if (url.includes('/:')) codes.add(404);
  const response = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
  for (const code of codes) response[code] ??= { description: ERROR_WORDS[code], $ref: 'Error#' };
  schema.response = response;
}

/** A 204 answer, for the schema's `response`. */
export const NO_CONTENT = { 204: { description: 'Done; no body', type: 'null' } } as const;

/**
 * A Server-Sent Events answer, for the schema's `response`: `id:` (the revision), `event:` and
 * `data:` (JSON) per event; lines starting with `:` are comments.
 */
export const eventStream = (what: string) => ({ 200: { description: what, content: { 'text/event-stream': { schema: { type: 'string' } } } } }) as const;

/**
 * The operationIds of a kind's generic routes: `listHosts`, `listHostsAllProjects`, `createHost`,
 * `getHost`, `patchHost`, `patchHostStatus`, `deleteHost`. Stable: they follow the kind's name and
 * path, which the contract fixes.
 * @example kindOperationIds({ kind: 'OsUpdatePolicy', path: 'os-update-policies' }).list // 'listOsUpdatePolicies'
 */
export function kindOperationIds(def: { kind: string; path: string }) {
  const plural = def.path.replace(/(^|-)([a-z])/g, (_, _dash, c: string) => c.toUpperCase());
  return {
    list: `list${plural}`,
    listAllProjects: `list${plural}AllProjects`,
    create: `create${def.kind}`,
    get: `get${def.kind}`,
    patch: `patch${def.kind}`,
    patchStatus: `patch${def.kind}Status`,
    delete: `delete${def.kind}`,
  };
}
