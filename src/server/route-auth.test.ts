import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTestApp } from '../testing/test-app.ts';

// Found attacking main (issue 9): the token check ran on the URL as written (`/v1/…`), while the
// router decodes it, so `/%761/projects/…` reached the /v1 handlers without the check: no rate
// limit, and an enrollment token got "missing Authorization" from the handler instead of the 403
// every /v1 route gives it. The handlers' own callerOf kept the data safe; the check now follows
// the route the URL matched.

test('a /v1 route reached through a percent-encoded path is checked like any other', async () => {
  const srv = await openTestApp({ app: { rateLimit: { rps: 1, burst: 2 } } });
  try {
    const enrollment = (await srv.tokens.issue({ subject: 'e', grants: [{ project: 'default', role: 'enrollment' }] })).token;
    const viewer = (await srv.tokens.issue({ subject: 'v', grants: [{ project: 'default', role: 'viewer' }] })).token;
    for (const url of ['/%761/projects/default/hosts', '/v%31/projects', '/%2576%31/projects', '/%76%31/projects/default/metrics:prometheus']) {
      const r = await srv.inject('GET', url, enrollment);
      if (r.statusCode === 404) continue; // not routed to /v1 at all (a double escape)
      assert.equal(r.statusCode, 403, `${url}: ${r.body}`);
      assert.match(r.json().error.message, /agent and enrollment tokens are for \/southbound\/v1 only/, url);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await srv.inject('GET', '/%761/projects/default/hosts', viewer)).statusCode);
    assert.ok(statuses.includes(429), `the token's rate limit holds on the encoded path too: ${statuses}`);
    assert.equal((await srv.inject('GET', '/v1/projects/default/spaceships')).statusCode, 401, 'an unknown /v1 route still wants a token');
    assert.equal((await srv.inject('GET', '/%6detrics')).statusCode, 401, '/metrics, encoded, wants a token');
    assert.equal((await srv.inject('GET', '/healthz')).statusCode, 200);
  } finally {
    await srv.close();
  }
});
