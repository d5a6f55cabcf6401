import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../../api/index.ts';
import type { TokenService } from '../auth/token-service.ts';
import { AgentAuth } from './agent-auth.ts';

test("AgentAuth: a request's answer is checked once, until it is forgotten (an agent's stream lets go of it)", async () => {
  let checks = 0;
  const tokens = {
    verify: async (): Promise<Caller> => {
      checks++;
      return { subject: 'agent/host-0000abcd', grants: [{ project: 'acme', role: 'agent' }], hostId: 'host-0000abcd', tokenId: 't1' };
    },
  } as unknown as TokenService;
  const auth = new AgentAuth(tokens);
  const req = { headers: { authorization: 'Bearer abc.def.ghi' }, raw: {} } as unknown as FastifyRequest;
  const first = await auth.identify(req);
  assert.equal(await auth.identify(req), first, 'the same answer again');
  assert.equal((await auth.bearer(req)).token, 'abc.def.ghi');
  assert.equal(checks, 1);
  auth.forget(req);
  assert.deepEqual(await auth.identify(req), first, 'asked again after forget: checked again, the same caller');
  assert.equal(checks, 2);
});
