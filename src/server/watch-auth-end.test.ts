import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { spawnServer } from '../testing/server-process.ts';
import { openTestApp } from '../testing/test-app.ts';
import { createTestDatabase, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';

// An open watch stream ends when its token stops being valid (issue 9, item 4): an ERROR event
// with `unauthenticated`, then the server closes the stream. Revocation reaches every server on
// the database within the revocation refresh (2 s); expiry ends a stream at the token's `exp`.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
});

/** A watch whose frames are collected; `ended` resolves (with the time) when the server closes it. */
async function watch(url: string, token: string) {
  const frames: SseFrame[] = [];
  const s = await openSse(url, { token }, (f) => frames.push(f));
  cleanups.push(() => s.close());
  const ended = s.ended.then(() => performance.now());
  return { frames, ended, close: s.close };
}

/** Resolves with the time the stream ended, or rejects after `ms`. */
const endsWithin = (ended: Promise<number>, ms: number, what: string) =>
  Promise.race([ended, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${what} still open after ${ms} ms`)), ms).unref())]);

function assertUnauthenticatedEnd(frames: SseFrame[], what: string): void {
  const last = frames.at(-1);
  assert.equal(last?.event, 'ERROR', `${what}: the last frame is an ERROR (frames: ${frames.map((f) => f.event).join(',')})`);
  const body = JSON.parse(last!.data) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'unauthenticated', what);
  return void assert.match(body.error.message, /revoked|expired/);
}

test('in one server: a stream ends at once on revocation, and at the token expiry', async (t) => {
  const srv = await openTestApp({ listen: true, projects: ['default'] });
  t.after(() => srv.close());
  const viewer = await srv.tokens.issue({ subject: 'v', grants: [{ project: 'default', role: 'viewer' }] });
  const manager = await srv.tokens.issue({ subject: 'm', grants: [{ project: '*', role: 'manager' }] });
  const short = await srv.tokens.issue({ subject: 's', grants: [{ project: 'default', role: 'viewer' }], ttlSeconds: 2 });
  const keeper = await srv.tokens.issue({ subject: 'k', grants: [{ project: 'default', role: 'viewer' }] });
  const v = await watch(`${srv.url}/v1/projects/default/watch`, viewer.token);
  const m = await watch(`${srv.url}/v1/watch`, manager.token);
  const s = await watch(`${srv.url}/v1/projects/default/watch`, short.token);
  const k = await watch(`${srv.url}/v1/projects/default/watch`, keeper.token);
  const expiresAt = Date.parse(short.expiresAt!);

  const revokedAt = performance.now();
  await srv.tokens.revoke({ id: viewer.id });
  await srv.tokens.revoke({ id: manager.id });
  for (const [name, w] of [['project watch', v], ['cross-project watch', m]] as const) {
    const at = await endsWithin(w.ended, 1000, name);
    assertUnauthenticatedEnd(w.frames, name);
    t.diagnostic(`${name} ended ${(at - revokedAt).toFixed(0)} ms after the revocation`);
  }

  await endsWithin(s.ended, 5000, 'the expiring stream');
  const late = Date.now() - expiresAt;
  assert.ok(late >= -50 && late < 1000, `it ended at the expiry (${late} ms after exp)`);
  assertUnauthenticatedEnd(s.frames, 'expired');

  // A valid token's stream goes on.
  const r = await srv.call('POST', '/v1/projects/default/regions', srv.admin, { name: 'after', spec: {} });
  assert.equal(r.status, 201);
  const deadline = Date.now() + 3000;
  while (!k.frames.some((f) => f.event === 'CREATED') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  assert.ok(k.frames.some((f) => f.event === 'CREATED'), 'the other stream still delivers');
});

test('two server processes on one PostgreSQL database: a token revoked through A ends its streams on B', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  const args = ['--store', db.url, '--data-dir', tmp.dir, '--managers', 'none'];
  const a = await spawnServer(args);
  cleanups.push(() => a.kill('SIGKILL'));
  const b = await spawnServer(args);
  cleanups.push(() => b.kill('SIGKILL'));

  const mint = async (project: string, role: string) => {
    const r = await call(`${a.url}/v1/projects/${encodeURIComponent(project)}/tokens`, { method: 'POST', token: a.token, body: { role } });
    assert.equal(r.status, 201, r.body);
    return r.json as { id: string; token: string };
  };
  const viewer = await mint('default', 'viewer');
  const manager = await mint('*', 'manager');
  const keeper = await mint('default', 'viewer');
  const v = await watch(`${b.url}/v1/projects/default/watch`, viewer.token);
  const m = await watch(`${b.url}/v1/watch`, manager.token);
  const k = await watch(`${b.url}/v1/projects/default/watch`, keeper.token);

  const revokedAt = performance.now();
  for (const [project, tok] of [['default', viewer], ['*', manager]] as const) {
    const r = await call(`${a.url}/v1/projects/${encodeURIComponent(project)}/tokens/${tok.id}`, { method: 'DELETE', token: a.token });
    assert.ok(r.status < 300, r.body);
  }
  // The refresh runs every 2 s; allow for a loaded machine.
  for (const [name, w] of [['project watch on B', v], ['cross-project watch on B', m]] as const) {
    const at = await endsWithin(w.ended, 4000, name);
    assertUnauthenticatedEnd(w.frames, name);
    t.diagnostic(`${name} ended ${(at - revokedAt).toFixed(0)} ms after the revocation on A`);
  }
  const r = await call(`${a.url}/v1/projects/default/regions`, { method: 'POST', token: a.token, body: { name: 'after', spec: {} } });
  assert.equal(r.status, 201, r.body);
  const deadline = Date.now() + 3000;
  while (!k.frames.some((f) => f.event === 'CREATED') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  assert.ok(k.frames.some((f) => f.event === 'CREATED'), 'a stream of a valid token on B still delivers');
});
