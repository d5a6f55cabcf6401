import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ALL_PROJECTS, type Caller, EimError } from '../../api/index.ts';
import { type InventoryService, requirePermission } from '../../inventory/index.ts';
import { buildPayload, createSenders, type Senders } from '../../managers/index.ts';
import { callerOf, projectParam } from '../request-helpers.ts';

const ErrorBody = Type.Ref('Error');
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
/** The server reads a receiver's secrets to test it, as the alert manager does. */
const SERVER: Caller = { subject: 'alert-receiver-test', grants: [{ project: ALL_PROJECTS, role: 'manager' }] };

/**
 * `POST …/alert-receivers/{id}:test` (editors): sends one test notification to the receiver now,
 * from this server, and answers what the receiver said (a receiver on a local address, refused by
 * `senders`' policy, answers `ok: false` with the reason). Nothing is recorded on alerts.
 */
export function registerAlertRoutes(app: FastifyInstance, inventory: InventoryService, senders: Senders = createSenders(), externalUrl?: () => string): void {
  app.post(
    '/v1/projects/:project/alert-receivers/:id(^[a-z]+-[0-9a-f]{8})::test',
    {
      schema: {
        tags: ['AlertReceiver'],
        operationId: 'testAlertReceiver',
        summary: 'Send one test notification to an alert receiver now and say what it answered',
        response: { 200: Type.Object({ ok: Type.Boolean(), detail: Type.String() }), ...errors },
      },
    },
    async (req) => {
      const caller = callerOf(req);
      const project = projectParam(req.params);
      const id = (req.params as { id: string }).id;
      const receiver = await inventory.get(caller, project, 'AlertReceiver', id);
      requirePermission(caller, project, 'spec', 'test alert receivers');
      const spec = (await inventory.revealSpec(SERVER, project, 'AlertReceiver', id)) as { webhook?: never; email?: never };
      const now = new Date().toISOString();
      const base = externalUrl?.() ?? `${req.protocol}://${req.host}`;
      const alert = {
        id: 'alert-00000000', name: 'test', status: {
          ruleId: 'alertrule-00000000', resourceId: receiver.id, state: 'firing', severity: 'info', activeSince: now, startsAt: now, fingerprint: '0000000000000000',
          labels: { alertname: 'eim-test', severity: 'info', project, receiver: receiver.name },
          annotations: { summary: `A test notification from eim to receiver ${receiver.name}`, description: `Sent by ${caller.subject} with eim alert-receiver test.` },
        },
      };
      const payload = buildPayload({ receiver: receiver as never, groupKey: '{}:{alertname="eim-test"}', groupLabels: { alertname: 'eim-test' }, alerts: [alert as never], externalUrl: base });
      const key = `test-${Date.now().toString(16)}`;
      if (spec.webhook) return senders.webhook(spec.webhook, payload, key);
      if (spec.email) return senders.email(spec.email, payload, key);
      throw new EimError('failed_precondition', `receiver ${receiver.name} has neither webhook nor email`);
    },
  );
}
