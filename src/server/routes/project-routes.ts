import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { EimError, ProjectName } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import { NO_CONTENT } from '../openapi.ts';
import { callerOf } from '../request-helpers.ts';

const Project = Type.Object({ name: ProjectName, createdAt: Type.String() });

/** `/v1/projects`: create (cluster admin), list (those the token may see), delete when empty. */
export function registerProjectRoutes(app: FastifyInstance, inventory: InventoryService): void {
  app.get('/v1/projects', { schema: { tags: ['Projects'], operationId: 'listProjects', summary: 'Projects the token may see', response: { 200: Type.Object({ items: Type.Array(Project) }) } } }, async (req) => ({
    items: await inventory.listProjects(callerOf(req)),
  }));
  app.post(
    '/v1/projects',
    { schema: { tags: ['Projects'], operationId: 'createProject', summary: 'Create a project (admin)', body: Type.Object({ name: ProjectName }, { additionalProperties: false }), response: { 201: Project } } },
    async (req, reply) => {
      const body = req.body as { name?: unknown } | undefined;
      if (!body || typeof body !== 'object' || Object.keys(body).some((k) => k !== 'name')) throw new EimError('invalid_argument', 'the body must be { "name": "<project>" }');
      return reply.code(201).send(await inventory.createProject(callerOf(req), body.name as string));
    },
  );
  app.delete('/v1/projects/:project', { schema: { tags: ['Projects'], operationId: 'deleteProject', summary: 'Delete an empty project (admin)', response: NO_CONTENT } }, async (req, reply) => {
    await inventory.deleteProject(callerOf(req), (req.params as { project: string }).project);
    return reply.code(204).send();
  });
}
