import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enrolAgent } from '../../testing/enrol-agent.ts';
import { headOnly } from '../../testing/head-only.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';

const ROUTES = [
  ['POST', '/southbound/v1/enroll'],
  ['POST', '/southbound/v1/certificate'],
  ['POST', '/southbound/v1/renew'],
  ['POST', '/southbound/v1/heartbeat'],
  ['POST', '/southbound/v1/hardware'],
  ['POST', '/southbound/v1/status'],
  ['POST', '/southbound/v1/node-config'],
  ['POST', '/southbound/v1/commands/cmd-00000000/result'],
  ['GET', '/southbound/v1/stream'],
] as const;

/**
 * Under /southbound/v1, as under /v1, the token is checked before the body is read: a request
 * without a valid one is answered 401 from its head, whatever body it announces or sends. (An
 * outsider's 0.5 MB bodies, read and parsed before the token was looked at, slowed agents'
 * heartbeats to 1-3 s.)
 */
describe('the southbound checks the token before it reads the body', () => {
  let srv: TestApp;
  before(async () => {
    srv = await openTestApp({ southbound: { leaseCheckMs: 50 }, listen: true });
  });
  after(() => srv.close());

  for (const [method, path] of ROUTES) {
    test(`${method} ${path}: no token or a bad one, and a body announced but never sent: 401 at once`, async () => {
      assert.match(await headOnly(srv.url, method, path, {}, 400_000, 3000), /^HTTP\/1\.1 401 /);
      assert.match(await headOnly(srv.url, method, path, { authorization: 'Bearer not-a-token' }, 400_000, 3000), /^HTTP\/1\.1 401 /);
    });
  }

  test('no token and a malformed body: 401 (unauthenticated), not 400', async () => {
    for (const [method, path] of ROUTES.filter(([m]) => m === 'POST')) {
      const r = await srv.app.inject({ method, url: path, headers: { 'content-type': 'application/json' }, payload: '{not json' });
      assert.equal(r.statusCode, 401, `${path}: ${r.body}`);
      assert.equal(r.json().error.code, 'unauthenticated');
    }
  });

  test('with a valid agent token the body is read, checked and answered as before', async () => {
    const { token } = await enrolAgent(srv, 'SN-TOKEN-FIRST');
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    assert.equal((await srv.app.inject({ method: 'POST', url: '/southbound/v1/heartbeat', headers: auth, payload: '{not json' })).statusCode, 400);
    assert.equal((await srv.app.inject({ method: 'POST', url: '/southbound/v1/heartbeat', headers: auth, payload: '{}' })).statusCode, 204);
    // A head with a valid token waits for its body (here: never sent), as it must.
    assert.equal(await headOnly(srv.url, 'POST', '/southbound/v1/heartbeat', { authorization: `Bearer ${token}` }, 1000, 500), 'no answer');
  });
});
