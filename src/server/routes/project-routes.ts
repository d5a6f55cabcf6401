import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { EimError, ProjectName } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { NO_CONTENT } from '../openapi.ts';
import type { TokenService } from '../auth/token-service.ts';
import { callerOf } from '../request-helpers.ts';

const Project = Type.Object({ name: ProjectName, createdAt: Type.String() });

/**
 * `/v1/projects`: create (cluster admin), list (those the token may see), delete when empty.
 * Deleting a project revokes every token issued for it, on every server sharing the store; creating
 * one revokes any token left from an earlier project of that name (should a deletion have stopped
 * between removing the project and revoking its tokens), so a new project is never reachable with
 * an old tenant's token.
 */
export function registerProjectRoutes(app: FastifyInstance, inventory: InventoryService, tokens: TokenService): void {
  app.get('/v1/projects', { schema: { tags: ['Projects'], operationId: 'listProjects', summary: 'Projects the token may see', response: { 200: Type.Object({ items: Type.Array(Project) }) } } }, async (req) => ({
    items: await inventory.listProjects(callerOf(req)),
  }));
  app.post(
    '/v1/projects',
    { schema: { tags: ['Projects'], operationId: 'createProject', summary: 'Create a project (admin)', body: Type.Object({ name: ProjectName }, { additionalProperties: false }), response: { 201: Project } } },
    async (req, reply) => {
      const body = req.body as { name?: unknown } | undefined;
      if (!body || typeof body !== 'object' || Object.keys(body).some((k) => k !== 'name')) throw new EimError('invalid_argument', 'the body must be { "name": "<project>" }');
      const created = await inventory.createProject(callerOf(req), body.name as string);
      // Not tokens issued since (another server may already hand them out for the new project).
      await tokens.revoke({ project: created.name, createdBefore: created.createdAt });
      return reply.code(201).send(created);
    },
  );
  app.delete('/v1/projects/:project', { schema: { tags: ['Projects'], operationId: 'deleteProject', summary: 'Delete an empty project (admin)', response: NO_CONTENT } }, async (req, reply) => {
    const project = (req.params as { project: string }).project;
    await inventory.deleteProject(callerOf(req), project);
    await tokens.revoke({ project });
    return reply.code(204).send();
  });
}
