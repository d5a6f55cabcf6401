import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { call, openSse, type SseFrame } from '../../testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../../testing/server-process.ts';
import { enrolAgent } from '../../testing/enrol-agent.ts';
import { openTestApp } from '../../testing/test-app.ts';
import { until } from '../../testing/until.ts';
import { createTestDatabase, PG_URL, pgReachable, tempDir } from '../../testing/test-stores.ts';

// Issue 9 item 4 (southbound half): an agent's open command stream ends (ERROR unauthenticated,
// then close) within the revocation propagation time once its token is revoked or expires, on
// every server sharing the database.

const unauthenticated = (frames: SseFrame[]) => frames.some((f) => f.event === 'ERROR' && JSON.parse(f.data).error?.code === 'unauthenticated');

describe('agent streams end when their token stops being valid', { timeout: 30_000 }, () => {
  test('revoked by id: ERROR unauthenticated, then closed; the host\'s other streams with other tokens stay', async () => {
    const srv = await openTestApp({ southbound: { leaseCheckMs: 1000 }, listen: true });
    try {
      const a = await enrolAgent(srv, 'SN-REV');
      const second = (await srv.tokens.issue({ subject: `agent/${a.hostId}`, grants: [{ project: 'default', role: 'agent' }], hostId: a.hostId })).token;
      const frames: SseFrame[] = [];
      const kept: SseFrame[] = [];
      const s = await openSse(`${srv.url}/southbound/v1/stream`, { token: a.token }, (f) => frames.push(f));
      const s2 = await openSse(`${srv.url}/southbound/v1/stream`, { token: second }, (f) => kept.push(f));
      const id = (await srv.call('GET', '/v1/projects/default/tokens', srv.admin)).json.items.find((t: { role: string; hostId?: string }) => t.role === 'agent' && t.hostId === a.hostId).id;
      const t0 = Date.now();
      assert.equal((await srv.call('DELETE', `/v1/projects/default/tokens/${id}`, srv.admin)).status, 204);
      await s.ended;
      assert.ok(Date.now() - t0 < 2000, `ended after ${Date.now() - t0} ms`);
      assert.ok(unauthenticated(frames), JSON.stringify(frames));
      assert.equal(srv.southbound!.streams.size, 1, 'the stream with a valid token stays');
      assert.ok(!unauthenticated(kept));
      s2.close();
    } finally {
      await srv.close();
    }
  });

  test('expired: the stream ends soon after its token does', async () => {
    const srv = await openTestApp({ southbound: { leaseCheckMs: 1000 }, listen: true });
    try {
      const a = await enrolAgent(srv, 'SN-EXP');
      const short = (await srv.tokens.issue({ subject: `agent/${a.hostId}`, grants: [{ project: 'default', role: 'agent' }], hostId: a.hostId, ttlSeconds: 1 })).token;
      const frames: SseFrame[] = [];
      const t0 = Date.now();
      const s = await openSse(`${srv.url}/southbound/v1/stream`, { token: short }, (f) => frames.push(f));
      await s.ended;
      assert.ok(Date.now() - t0 < 3000, `ended after ${Date.now() - t0} ms`);
      assert.ok(unauthenticated(frames));
      assert.match(frames.find((f) => f.event === 'ERROR')!.data, /expired/);
    } finally {
      await srv.close();
    }
  });

  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  test('two server processes on one PostgreSQL database: a token revoked through A ends its stream on B; B refuses an invalidated or force-deleted host\'s token and a revoked enrollment token', async (t) => {
    if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const args = ['--store', db.url, '--data-dir', tmp.dir, '--managers', 'none'];
    const a: ServerProcess = await spawnServer(args);
    cleanups.push(() => a.kill('SIGKILL'));
    const b: ServerProcess = await spawnServer(args);
    cleanups.push(() => b.kill('SIGKILL'));
    const viaA = {
      admin: a.token,
      call: async (method: string, path: string, token?: string, body?: unknown) => {
        const r = await call(`${a.url}${path}`, { method, token, body });
        return { status: r.status, json: r.json };
      },
    };
    const agent = await enrolAgent(viaA, 'SN-MULTI');
    const frames: SseFrame[] = [];
    const s = await openSse(`${b.url}/southbound/v1/stream`, { token: agent.token }, (f) => frames.push(f));
    cleanups.push(() => s.close());
    assert.equal((await call(`${b.url}/southbound/v1/heartbeat`, { method: 'POST', token: agent.token, body: {} })).status, 204, 'B takes the token');
    const id = (await viaA.call('GET', '/v1/projects/default/tokens', a.token)).json.items.find((x: { role: string }) => x.role === 'agent').id;
    const t0 = Date.now();
    assert.equal((await viaA.call('DELETE', `/v1/projects/default/tokens/${id}`, a.token)).status, 204);
    // B learns of it through its revocation refresh (2 s), then its stream check (1 s).
    const ended = await Promise.race([s.ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 6000))]);
    assert.ok(ended, `the stream on B is still open ${Date.now() - t0} ms after the revocation:\n${b.output().slice(-2000)}`);
    assert.ok(unauthenticated(frames));
    assert.equal((await call(`${b.url}/southbound/v1/heartbeat`, { method: 'POST', token: agent.token, body: {} })).status, 401);

    // Invalidating a host through A: its stream on B gets revoked and B refuses its token.
    const other = await enrolAgent(viaA, 'SN-MULTI-2');
    const frames2: SseFrame[] = [];
    const s2 = await openSse(`${b.url}/southbound/v1/stream`, { token: other.token }, (f) => frames2.push(f));
    cleanups.push(() => s2.close());
    assert.equal((await viaA.call('PATCH', `/v1/projects/default/hosts/${other.hostId}`, a.token, { spec: { desiredState: 'untrusted' } })).status, 200);
    const ended2 = await Promise.race([s2.ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 6000))]);
    assert.ok(ended2, 'the invalidated host\'s stream on B ended');
    assert.ok(frames2.some((f) => f.event === 'revoked'));
    assert.equal((await call(`${b.url}/southbound/v1/heartbeat`, { method: 'POST', token: other.token, body: {} })).status, 401);

    // A host force-deleted through A: B refuses its token too.
    const third = await enrolAgent(viaA, 'SN-MULTI-3');
    assert.equal((await call(`${b.url}/southbound/v1/heartbeat`, { method: 'POST', token: third.token, body: {} })).status, 204);
    assert.equal((await viaA.call('DELETE', `/v1/projects/default/hosts/${third.hostId}?force=true`, a.token)).status, 200);
    await until(async () => (await call(`${b.url}/southbound/v1/heartbeat`, { method: 'POST', token: third.token, body: {} })).status === 401, "B refuses the deleted host's token", { timeoutMs: 6000, intervalMs: 100 });

    // An enrollment token revoked through A: B enrols nothing with it.
    await viaA.call('POST', '/v1/projects/default/hosts', a.token, { name: 'sn-multi-4', spec: { serialNumber: 'SN-MULTI-4', desiredState: 'onboarded' } });
    const et = (await viaA.call('POST', '/v1/projects/default/tokens', a.token, { role: 'enrollment' })).json;
    assert.equal((await viaA.call('DELETE', `/v1/projects/default/tokens/${et.id}`, a.token)).status, 204);
    await until(async () => (await call(`${b.url}/southbound/v1/enroll`, { method: 'POST', token: et.token, body: { serialNumber: 'SN-MULTI-4', hostname: 'x' } })).status === 401, 'B refuses the revoked enrollment token', { timeoutMs: 6000, intervalMs: 100 });
  });
});
