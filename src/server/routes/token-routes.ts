import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ALL_PROJECTS, EimError, ROLES, type Role } from '../../api/index.ts';
import { type InventoryService, requirePermission } from '../../inventory/index.ts';
import { MAX_TOKEN_PAGE } from '../../store/index.ts';
import { ALL_PROJECTS_ROLES, type TokenService } from '../auth/token-service.ts';
import { NO_CONTENT } from '../openapi.ts';
import { callerOf, stringParam } from '../request-helpers.ts';
import { decodeTokenPageToken, encodeTokenPageToken } from './token-page-token.ts';

const TokenRequest = Type.Object(
  {
    role: Type.Enum([...ROLES]),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400 })),
    hostId: Type.Optional(Type.String({ description: 'binds an agent token to one host' })),
    autoRegister: Type.Optional(Type.Boolean({ description: 'an enrollment token that may register unknown hosts' })),
    subject: Type.Optional(Type.String({ maxLength: 128, description: 'who the token is for, shown as the actor of its writes' })),
  },
  { additionalProperties: false },
);
const TokenAnswer = Type.Object({ id: Type.String(), token: Type.String(), role: Type.String(), expiresAt: Type.Optional(Type.String()) });
const TokenList = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      project: Type.String(),
      subject: Type.String(),
      role: Type.String(),
      hostId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      autoRegister: Type.Optional(Type.Boolean()),
      createdAt: Type.String(),
      expiresAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      revokedAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    }),
  ),
  nextPageToken: Type.Optional(Type.String({ description: 'present only when more records follow: pass it as pageToken for the next page' })),
});
const TokenListQuery = Type.Object({
  pageSize: Type.Optional(Type.Integer({ minimum: 1, default: MAX_TOKEN_PAGE, description: `at most ${MAX_TOKEN_PAGE} are answered (more is taken as ${MAX_TOKEN_PAGE})` })),
  pageToken: Type.Optional(Type.String({ description: 'the nextPageToken of the previous page, unchanged' })),
});
const DEFAULT_TTL = 30 * 86400;
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Token management (project admins) and key rotation (cluster admins). */
export function registerTokenRoutes(app: FastifyInstance, inventory: InventoryService, tokens: TokenService): void {
  app.post(
    '/v1/projects/:project/tokens',
    { schema: { tags: ['Tokens'], operationId: 'createToken', summary: 'Issue a token (admin); the token is shown only in this answer', body: TokenRequest, response: { 201: TokenAnswer } } },
    async (req, reply) => {
      const project = (req.params as { project: string }).project;
      const caller = callerOf(req);
      requirePermission(caller, project, 'admin', 'issue tokens');
      if (project === ALL_PROJECTS && !caller.grants.some((g) => g.project === ALL_PROJECTS && g.role === 'admin')) {
        throw new EimError('permission_denied', 'only a cluster admin may issue tokens for every project');
      }
      await inventory.assertProject(project);
      const body = req.body as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new EimError('invalid_argument', 'the body must be a JSON object like { "role": "viewer", "ttlSeconds": 86400 }');
      const extra = Object.keys(body).filter((k) => !['role', 'ttlSeconds', 'hostId', 'autoRegister', 'subject'].includes(k));
      if (extra.length) throw new EimError('invalid_argument', `unknown field(s) ${extra.join(', ')}; a token request may hold role, ttlSeconds, hostId, autoRegister, subject`);
      const role = body.role as Role;
      if (!ROLES.includes(role)) throw new EimError('invalid_argument', `role must be one of ${ROLES.join(', ')}`);
      if (project === ALL_PROJECTS && !ALL_PROJECTS_ROLES.includes(role)) {
        throw new EimError('invalid_argument', `"*" is not a project: a token for every project may only be an admin or manager token, not ${role}; issue it for one project`);
      }
      const ttl = body.ttlSeconds;
      if (ttl !== undefined && (!Number.isInteger(ttl) || (ttl as number) < 1 || (ttl as number) > 10 * 365 * 86400)) {
        throw new EimError('invalid_argument', 'ttlSeconds must be a whole number of seconds from 1 to 10 years');
      }
      const hostId = body.hostId;
      if (role === 'agent') {
        if (typeof hostId !== 'string') throw new EimError('invalid_argument', 'an agent token is bound to one host: give hostId');
        await inventory.get(caller, project, 'Host', hostId);
      } else if (hostId !== undefined) throw new EimError('invalid_argument', 'hostId is only for agent tokens');
      if (body.autoRegister !== undefined && (typeof body.autoRegister !== 'boolean' || role !== 'enrollment')) {
        throw new EimError('invalid_argument', 'autoRegister (true or false) is only for enrollment tokens');
      }
      if (body.subject !== undefined && (typeof body.subject !== 'string' || !/^[\w.@:-]{1,128}$/.test(body.subject))) {
        throw new EimError('invalid_argument', 'subject may hold letters, digits and . _ @ : - (at most 128)');
      }
      const issued = await tokens.issue({
        subject: (body.subject as string | undefined) ?? `${role}-token`,
        grants: [{ project, role }],
        // Every token of this route expires, an agent token too (one an admin mints by hand never
        // renews itself; an enrolled agent's comes from enrolment and is renewed by the agent).
        ttlSeconds: (ttl as number | undefined) ?? DEFAULT_TTL,
        hostId: hostId as string | undefined,
        autoRegister: body.autoRegister as boolean | undefined,
      });
      // The project may have been deleted (here or on another server) since it was checked above:
      // then the deletion's revocation may have run before this token existed.
      if (project !== ALL_PROJECTS && !(await inventory.projectExists(project))) {
        await tokens.revoke({ id: issued.id });
        throw new EimError('not_found', `project "${project}" not found`);
      }
      // The caller's token may have been revoked through another server that this one has not
      // heard from yet: a token it minted would outlive that revocation.
      await tokens.assertNotRevoked(caller, issued.id);
      return reply.code(201).send(issued);
    },
  );

  app.get(
    '/v1/projects/:project/tokens',
    { schema: { tags: ['Tokens'], operationId: 'listTokens', summary: 'Tokens issued for a project (admin), oldest first, a page at a time; never the tokens themselves', querystring: TokenListQuery, response: { 200: TokenList } } },
    async (req) => {
      const project = (req.params as { project: string }).project;
      requirePermission(callerOf(req), project, 'admin', 'list tokens');
      // As every list of a project: one that does not exist is not an empty list (its deleted tokens are revoked).
      if (project !== ALL_PROJECTS && !(await inventory.projectExists(project))) throw new EimError('not_found', `project "${project}" not found`);
      const q = req.query as Record<string, unknown>;
      const pageSize = pageSizeOf(q.pageSize);
      const pageToken = stringParam(q.pageToken, 'pageToken');
      const after = pageToken ? decodeTokenPageToken(pageToken, project) : undefined;
      const page = await inventory.store.auth.listTokens(project, { pageSize, after });
      return { items: page.items, ...(page.next ? { nextPageToken: encodeTokenPageToken(project, page.next) } : {}) };
    },
  );

  app.delete('/v1/projects/:project/tokens/:id', { schema: { tags: ['Tokens'], operationId: 'revokeToken', summary: 'Revoke a token at once (admin)', response: NO_CONTENT } }, async (req, reply) => {
    const { project, id } = req.params as { project: string; id: string };
    requirePermission(callerOf(req), project, 'admin', 'revoke tokens');
    const record = TOKEN_ID.test(id) ? await inventory.store.auth.getToken(id) : undefined;
    if (!record || record.project !== project) throw new EimError('not_found', `token ${id.slice(0, 64)} not found in project "${project}"`);
    await tokens.revoke({ id });
    return reply.code(204).send();
  });

  app.post('/v1/keys/rotate', { schema: { tags: ['Tokens'], operationId: 'rotateSigningKey', summary: 'Start signing with a new key (cluster admin); tokens signed before stay valid', response: { 200: Type.Object({ kid: Type.String() }) } } }, async (req) => {
    const caller = callerOf(req);
    if (!caller.grants.some((g) => g.project === ALL_PROJECTS && g.role === 'admin')) throw new EimError('permission_denied', 'only a cluster admin may rotate the signing key');
    return { kid: await tokens.rotate() };
  });
}

/**
 * `pageSize` of the token list: absent is a whole page, so a client that never pages gets every
 * record up to the maximum; more than the maximum is the maximum, as in the resource lists.
 */
function pageSizeOf(value: unknown): number {
  if (value === undefined || value === '') return MAX_TOKEN_PAGE;
  const s = String(value);
  if (!/^\d{1,20}$/.test(s) || Number(s) < 1) {
    throw new EimError('invalid_argument', `pageSize must be a whole number ≥ 1 (at most ${MAX_TOKEN_PAGE} are answered; got "${s.slice(0, 32)}")`, { details: { field: 'pageSize' } });
  }
  return Math.min(Number(s), MAX_TOKEN_PAGE);
}
