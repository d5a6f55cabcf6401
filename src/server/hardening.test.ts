import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, openSse } from '../testing/http-client.ts';
import { spawnServer } from '../testing/server-process.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';
import { tempDir } from '../testing/test-stores.ts';
import { RateLimiter } from './rate-limiter.ts';
import { testEd25519Key } from '../testing/ssh-keys.ts';

describe('rate limits', () => {
  let srv: TestApp;
  let viewer = '';
  let other = '';

  before(async () => {
    srv = await openTestApp({ app: { rateLimit: { rps: 5, burst: 10 }, maxWatchesPerToken: 2 }, listen: true });
    viewer = (await srv.tokens.issue({ subject: 'v', grants: [{ project: 'default', role: 'viewer' }] })).token;
    other = (await srv.tokens.issue({ subject: 'w', grants: [{ project: 'default', role: 'viewer' }] })).token;
  });
  after(() => srv.close());

  test('a token over its rate gets 429 rate_limited with Retry-After; other tokens are not affected', async () => {
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 15; i++) {
      const r = await srv.app.inject({ url: '/v1/projects/default/hosts', headers: { authorization: `Bearer ${viewer}` } });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) limited = r;
    }
    assert.ok(statuses.slice(0, 10).every((s) => s === 200), `the burst passes: ${statuses}`);
    assert.ok(limited, 'then it is limited');
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    const r = await srv.app.inject({ url: '/v1/projects/default/hosts', headers: { authorization: `Bearer ${other}` } });
    assert.equal(r.statusCode, 200);
  });

  test('the bucket refills at the configured rate', () => {
    let now = 0;
    const rl = new RateLimiter({ rps: 10, burst: 1, now: () => now });
    const c = { subject: 's', grants: [{ project: 'p', role: 'viewer' as const }], tokenId: 't' };
    rl.take(c);
    assert.throws(() => rl.take(c), { code: 'rate_limited' });
    now += 100;
    rl.take(c);
  });

  test('a token may hold a bounded number of open watches', async () => {
    const t = (await srv.tokens.issue({ subject: 'watcher', grants: [{ project: 'default', role: 'viewer' }] })).token;
    const a = await openSse(`${srv.url}/v1/projects/default/watch`, { token: t }, () => {});
    const b = await openSse(`${srv.url}/v1/projects/default/watch`, { token: t }, () => {});
    await assert.rejects(openSse(`${srv.url}/v1/projects/default/watch`, { token: t }, () => {}), { status: 429 });
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    const c = await openSse(`${srv.url}/v1/projects/default/watch`, { token: t }, () => {});
    b.close();
    c.close();
  });
});

test('no secret reaches a log line or an error message', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const server = await spawnServer(['--data-dir', tmp.dir, '--log-level', 'debug']);
  t.after(() => server.kill());
  const base = `${server.url}/v1/projects/default`;
  const sshKey = testEd25519Key('user@host');
  const made = await call(`${server.url}/v1/projects/default/tokens`, { method: 'POST', token: server.token, body: { role: 'editor' } });
  const editor = made.json.token as string;
  const answers = [
    await call(`${base}/local-accounts`, { method: 'POST', token: editor, body: { name: 'ops', spec: { username: 'ops', sshKey } } }),
    await call(`${base}/local-accounts`, { method: 'POST', token: editor, body: { name: 'bad', spec: { username: 'Not Valid!', sshKey } } }),
    await call(`${base}/local-accounts`, { method: 'POST', token: editor, body: { name: 'bad2', spec: { username: 'ops2', sshKey: 42 } } }),
    await call(`${base}/hosts`, { token: `${editor}x` }),
    await call(`${base}/hosts/host-zzz`, { token: editor }),
  ];
  assert.equal(answers[0].status, 201);
  await call(`${server.url}/v1/projects/default/tokens/${made.json.id}`, { method: 'DELETE', token: server.token });
  await call(`${base}/hosts`, { token: editor });
  await new Promise((r) => setTimeout(r, 300));
  const out = server.output();
  for (const secret of [editor, server.token, sshKey.split(' ')[1]]) {
    assert.ok(!out.includes(secret), `a log line holds a secret: ${secret.slice(0, 12)}…`);
    for (const a of answers.slice(1)) assert.ok(!a.body.includes(secret), `an error message holds a secret: ${a.body.slice(0, 200)}`);
  }
});
