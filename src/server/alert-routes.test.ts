import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { openTestApp, type TestApp } from '../testing/test-app.ts';

// The alert routes as each role reaches them: the test notification (editors, their own project),
// the write-only fields (a manager token only), and what another project's token sees (nothing).

const SECRET = 'route-test-secret-0b7e';

describe('alert receivers over HTTP: test notifications and write-only fields, by role and project', () => {
  let srv: TestApp;
  const tokens: Record<string, string> = {};
  const bodies: { raw: string; signature?: string }[] = [];
  const hook = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      bodies.push({ raw, signature: req.headers['x-eim-signature'] as string | undefined });
      res.writeHead(202).end('queued');
    });
  });
  let receiverId = '';

  before(async () => {
    // The webhook listens on 127.0.0.1: local receivers allowed here (alert-local-receivers.test.ts covers the refusal).
    srv = await openTestApp({ projects: ['default', 'other'], app: { allowLocalReceivers: true } });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    for (const [name, project, role] of [['editor', 'default', 'editor'], ['viewer', 'default', 'viewer'], ['manager', 'default', 'manager'], ['stranger', 'other', 'admin']] as const) {
      tokens[name] = (await srv.tokens.issue({ subject: name, grants: [{ project, role }] })).token;
    }
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/`;
    const r = await srv.call('POST', '/v1/projects/default/alert-receivers', tokens.editor, { name: 'ops', spec: { webhook: { url, hmacSecret: SECRET } } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    receiverId = r.json.id;
  });
  after(async () => {
    await new Promise((r) => hook.close(r));
    await srv.close();
  });

  test('an editor sends a test notification and reads what the receiver answered; it is signed', async () => {
    const r = await srv.call('POST', `/v1/projects/default/alert-receivers/${receiverId}:test`, tokens.editor);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, { ok: true, detail: 'HTTP 202: queued' });
    const body = JSON.parse(bodies[0].raw);
    assert.equal(body.version, '4');
    assert.equal(body.receiver, 'ops');
    assert.match(bodies[0].signature ?? '', /^sha256=[0-9a-f]{64}$/);
  });

  test('a viewer may not send one; another project sees no such receiver; a bad id is invalid_argument', async () => {
    assert.equal((await srv.call('POST', `/v1/projects/default/alert-receivers/${receiverId}:test`, tokens.viewer)).status, 403);
    assert.equal((await srv.call('POST', `/v1/projects/other/alert-receivers/${receiverId}:test`, tokens.stranger)).status, 404);
    assert.equal((await srv.call('POST', `/v1/projects/default/alert-receivers/${receiverId}:test`, tokens.stranger)).status, 404);
    assert.equal((await srv.call('POST', '/v1/projects/default/alert-receivers/host-00000000:test', tokens.editor)).status, 400);
    assert.equal(bodies.length, 1, 'nothing more was sent');
  });

  test('the write-only fields: only a manager token of the project reads them; every other answer shows "(set)"', async () => {
    for (const who of ['editor', 'viewer']) assert.equal((await srv.call('GET', `/v1/projects/default/alert-receivers/${receiverId}/secrets`, tokens[who])).status, 403, who);
    assert.equal((await srv.call('GET', `/v1/projects/default/alert-receivers/${receiverId}/secrets`, srv.admin)).status, 403, 'not even a cluster admin');
    assert.equal((await srv.call('GET', `/v1/projects/other/alert-receivers/${receiverId}/secrets`, tokens.stranger)).status, 403);
    const m = await srv.call('GET', `/v1/projects/default/alert-receivers/${receiverId}/secrets`, tokens.manager);
    assert.equal(m.status, 200);
    assert.equal(m.json.spec.webhook.hmacSecret, SECRET);
    const seen = JSON.stringify([
      (await srv.call('GET', `/v1/projects/default/alert-receivers/${receiverId}`, tokens.viewer)).json,
      (await srv.call('GET', '/v1/projects/default/alert-receivers', tokens.viewer)).json,
      (await srv.call('GET', '/v1/projects/default/events?limit=1000', srv.admin)).json,
      (await srv.call('PATCH', `/v1/projects/default/alert-receivers/${receiverId}`, tokens.editor, { spec: { webhook: { hmacSecret: 12 } } })).json,
    ]);
    assert.ok(seen.includes('(set)'));
    assert.ok(!seen.includes(SECRET), 'the secret leaked');
  });
});
