import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enrolAgent } from '../../testing/enrol-agent.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { until } from '../../testing/until.ts';

/**
 * POST /southbound/v1/renew looks at the host (still admitted?) and then issues a token. An
 * invalidation or a delete between the two revokes the host's tokens that exist then, not the one
 * issued after. The hook below holds the issue until the invalidation has been handled (as a busy
 * store, or another server handling the invalidation, would).
 */
describe('renewing an agent token while its host is invalidated or deleted', () => {
  let srv: TestApp;
  before(async () => {
    srv = await openTestApp({ southbound: { leaseCheckMs: 50 }, listen: true });
  });
  after(() => srv.close());

  for (const how of ['untrusted', 'deleted'] as const) {
    test(`${how === 'untrusted' ? 'invalidated' : 'force-deleted'} between the look and the issue: the renewal is refused and no token of the host works`, async () => {
      const { hostId, token } = await enrolAgent(srv, `SN-RACE-${how}`);
      const tokens = srv.tokens as unknown as { issue: (o: { hostId?: string }) => Promise<{ token: string }> };
      const issue = tokens.issue.bind(tokens);
      let issuedToken: string | undefined;
      tokens.issue = async (o) => {
        if (o.hostId !== hostId) return issue(o);
        tokens.issue = issue; // once
        const r = how === 'untrusted'
          ? await srv.call('PATCH', `/v1/projects/default/hosts/${hostId}`, srv.admin, { spec: { desiredState: 'untrusted' } })
          : await srv.call('DELETE', `/v1/projects/default/hosts/${hostId}?force=true`, srv.admin);
        assert.ok(r.status < 300, JSON.stringify(r.json));
        await until(async () => (await srv.call('POST', '/southbound/v1/heartbeat', token, {})).status === 401, 'the old token revoked', { timeoutMs: 5000 });
        const issued = await issue(o);
        issuedToken = issued.token;
        return issued;
      };
      const renewed = await srv.call('POST', '/southbound/v1/renew', token);
      assert.equal(renewed.status, 401, JSON.stringify(renewed.json));
      assert.equal(renewed.json.error.code, 'unauthenticated');
      assert.ok(issuedToken, 'the hook ran: a token was issued in the race');
      for (const t of [token, issuedToken]) {
        const hb = await srv.call('POST', '/southbound/v1/heartbeat', t, {});
        assert.equal(hb.status, 401, `a token of ${how} host ${hostId} still works (heartbeat ${hb.status})`);
      }
    });
  }

  test('a renewal of an admitted host still works, and the new token is accepted', async () => {
    const { token } = await enrolAgent(srv, 'SN-RACE-ok');
    const renewed = await srv.call('POST', '/southbound/v1/renew', token);
    assert.equal(renewed.status, 200, JSON.stringify(renewed.json));
    assert.equal((await srv.call('POST', '/southbound/v1/heartbeat', renewed.json.token, {})).status, 204);
  });
});
