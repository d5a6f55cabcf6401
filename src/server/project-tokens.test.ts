import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { spawnServer } from '../testing/server-process.ts';
import { openTestApp } from '../testing/test-app.ts';
import { createTestDatabase, DIALECTS, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';

// Issue 9 item 9: deleting a project revokes its tokens, so a new project of the same name is not
// readable (nor administrable) with the old tenant's tokens; on every server sharing the store.

for (const dialect of DIALECTS) {
  test(`${dialect}: deleting a project revokes its tokens at once; a new project of the same name does not take them`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const srv = await openTestApp({ dialect });
    t.after(() => srv.close());
    assert.equal((await srv.call('POST', '/v1/projects', srv.admin, { name: 'acme' })).status, 201);
    const issue = async (role: string) => (await srv.call('POST', '/v1/projects/acme/tokens', srv.admin, { role })).json.token as string;
    const old = { admin: await issue('admin'), viewer: await issue('viewer'), editor: await issue('editor') };
    for (const token of Object.values(old)) assert.equal((await srv.call('GET', '/v1/projects/acme/hosts', token)).status, 200);

    assert.equal((await srv.call('DELETE', '/v1/projects/acme', srv.admin)).status, 204);
    for (const token of Object.values(old)) assert.equal((await srv.call('GET', '/v1/projects/acme/hosts', token)).status, 401);
    assert.equal((await srv.call('POST', '/v1/projects', srv.admin, { name: 'acme' })).status, 201);
    for (const token of Object.values(old)) {
      const r = await srv.call('GET', '/v1/projects/acme/hosts', token);
      assert.equal(r.status, 401, 'the old tenant reads nothing of the new project');
      assert.match(r.json.error.message, /revoked/);
    }
    assert.equal((await srv.call('POST', '/v1/projects/acme/tokens', old.admin, { role: 'admin' })).status, 401, 'nor administers it');
    const second = await issue('viewer');
    assert.equal((await srv.call('GET', '/v1/projects/acme/hosts', second)).status, 200, 'new tokens work');

    // A token issued while another server deletes the project (this one still has it cached) is
    // revoked before it is handed out.
    const known = new Set((await srv.store.store.auth.listTokens('acme')).items.map((r) => r.id));
    await srv.store.store.deleteProject('acme');
    const raced = await srv.call('POST', '/v1/projects/acme/tokens', srv.admin, { role: 'viewer' });
    assert.equal(raced.status, 404, JSON.stringify(raced.json));
    const issued = (await srv.store.store.auth.listTokens('acme')).items.filter((r) => !known.has(r.id));
    assert.equal(issued.length, 1);
    assert.ok(issued[0].revokedAt, 'the token issued for the deleted project is revoked');

    // That deletion (straight in the store, like one that stopped before revoking) left a valid
    // token behind: creating the project again revokes it, and only tokens from before.
    await new Promise((r) => setTimeout(r, 5)); // a later createdAt than the tokens above
    assert.equal((await srv.call('POST', '/v1/projects', srv.admin, { name: 'acme' })).status, 201);
    assert.equal((await srv.call('GET', '/v1/projects/acme/hosts', second)).status, 401, 'a token left from before is revoked');
    assert.equal((await srv.call('GET', '/v1/projects/acme/hosts', await issue('viewer'))).status, 200);
  });
}

test('two server processes on one PostgreSQL database: a project deleted on one revokes its tokens on the other', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  const tmp = tempDir();
  const a = await spawnServer(['--store', db.url, '--data-dir', tmp.dir]);
  const b = await spawnServer(['--store', db.url, '--data-dir', tmp.dir]);
  t.after(async () => {
    await a.kill('SIGKILL');
    await b.kill('SIGKILL');
    await db.drop();
    tmp.remove();
  });
  const admin = a.token;
  assert.equal((await call(`${a.url}/v1/projects`, { method: 'POST', token: admin, body: { name: 'acme' } })).status, 201);
  const tenant = (await call(`${a.url}/v1/projects/acme/tokens`, { method: 'POST', token: admin, body: { role: 'admin' } })).json.token as string;
  assert.equal((await call(`${b.url}/v1/projects/acme/hosts`, { token: tenant })).status, 200, 'B verifies (and caches) the tenant token');

  assert.equal((await call(`${b.url}/v1/projects/acme`, { method: 'DELETE', token: admin })).status, 204);
  assert.equal((await call(`${a.url}/v1/projects`, { method: 'POST', token: admin, body: { name: 'acme' } })).status, 201, 'A re-creates it');
  // Each server learns of revocations made by another within its refresh interval (2 s).
  const deadline = Date.now() + 6000;
  const statuses = async () => Promise.all([a, b].map(async (s) => (await call(`${s.url}/v1/projects/acme/hosts`, { token: tenant })).status));
  let seen = await statuses();
  while (seen.some((s) => s !== 401) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await statuses();
  }
  assert.deepEqual(seen, [401, 401], 'the old tenant token is refused by both servers');
});
