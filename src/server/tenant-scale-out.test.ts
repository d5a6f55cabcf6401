import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { call, openSse, type SseFrame } from '../testing/http-client.ts';
import { ServerCluster } from '../testing/server-cluster.ts';
import { createTestDatabase, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// A tenant (a token of one project) against three `eim server` processes on one PostgreSQL
// database: what one process keeps in memory (verified tokens, revocations, rate buckets, watch
// slots) stays right when the tenant spreads its calls over the servers.

const RATE = 100;
const MAX_WATCHES = 2;
/** The revocation refresh is 2 s; a loaded machine may take longer to run it. */
const REVOCATION_BOUND_MS = 4000;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
});

describe('a tenant against three servers on one PostgreSQL database', { concurrency: false }, () => {
  let cluster: ServerCluster;
  let admin: string;
  let urls: string[];
  const mint = async (server: number, project: string, role: string, body: Record<string, unknown> = {}, token = admin) => {
    const r = await call(`${urls[server]}/v1/projects/${project}/tokens`, { method: 'POST', token, body: { role, ...body } });
    assert.equal(r.status, 201, r.body);
    return r.json as { id: string; token: string };
  };
  const statusOn = async (server: number, token: string, path = '/v1/projects/p/hosts') => (await call(`${urls[server]}${path}`, { token })).status;
  const statusesOn = (token: string, path?: string) => Promise.all(urls.map((_, i) => statusOn(i, token, path)));
  const heartbeatsOn = (token: string) => Promise.all(urls.map(async (url) => (await call(`${url}/southbound/v1/heartbeat`, { method: 'POST', token, body: {} })).status));
  /**
   * A request B took with a token just revoked through A: refused (401), or, made before B heard of
   * the revocation, what it made is refused everywhere once the revocation bound has passed (`then`).
   */
  const refusedOrShortLived = async (t: TestContext, what: string, r: { status: number; body: string }, ok: number, then: () => Promise<void>) => {
    t.diagnostic(`${what} through B right after the revocation on A: ${r.status}`);
    if (r.status !== ok) return assert.equal(r.status, 401, r.body);
    await new Promise((res) => setTimeout(res, REVOCATION_BOUND_MS));
    await then();
  };

  before(async () => {
    if (!(await pgReachable())) return;
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    cluster = await ServerCluster.start(3, { store: db.url, dataDir: tmp.dir, args: ['--rate-limit', String(RATE), '--max-watches', String(MAX_WATCHES)] });
    cleanups.push(() => cluster.close());
    admin = cluster.token;
    urls = cluster.urls;
    for (const name of ['p', 'q']) assert.equal((await call(`${urls[0]}/v1/projects`, { method: 'POST', token: admin, body: { name } })).status, 201);
  });

  test('a token B signed, revoked through A, is refused by B (and C) within the revocation bound', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const viewer = await mint(1, 'p', 'viewer');
    assert.deepEqual(await statusesOn(viewer.token), [200, 200, 200]);
    assert.equal((await call(`${urls[0]}/v1/projects/p/tokens/${viewer.id}`, { method: 'DELETE', token: admin })).status, 204);
    assert.equal(await statusOn(0, viewer.token), 401, 'refused at once where it was revoked');
    const t0 = Date.now();
    await until(async () => (await statusesOn(viewer.token)).every((s) => s === 401), 'refused everywhere', { timeoutMs: REVOCATION_BOUND_MS, intervalMs: 50 });
    t.diagnostic(`refused on every server ${Date.now() - t0} ms after the revocation on A`);
  });

  test('an expired token B signed is refused by every server at its expiry', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const short = await mint(1, 'p', 'viewer', { ttlSeconds: 2 });
    assert.deepEqual(await statusesOn(short.token), [200, 200, 200]);
    const exp = Date.parse((await call(`${urls[1]}/v1/projects/p/tokens?pageSize=1000`, { token: admin })).json.items.find((r: { id: string }) => r.id === short.id).expiresAt);
    await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now()) + 50));
    assert.deepEqual(await statusesOn(short.token), [401, 401, 401]);
  });

  test('a project deleted through A: the tokens B signed for it are refused on B, also once the project is created again', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    assert.equal((await call(`${urls[0]}/v1/projects`, { method: 'POST', token: admin, body: { name: 'gone' } })).status, 201);
    const old = await mint(1, 'gone', 'editor');
    assert.equal(await statusOn(1, old.token, '/v1/projects/gone/hosts'), 200);
    assert.equal((await call(`${urls[0]}/v1/projects/gone`, { method: 'DELETE', token: admin })).status, 204);
    assert.equal((await call(`${urls[0]}/v1/projects`, { method: 'POST', token: admin, body: { name: 'gone' } })).status, 201);
    await until(async () => (await statusesOn(old.token, '/v1/projects/gone/hosts')).every((s) => s === 401), 'the old tenant refused everywhere', { timeoutMs: REVOCATION_BOUND_MS, intervalMs: 50 });
  });

  test('a revoked admin token cannot, in the revocation window of another server, mint a token that outlives its revocation', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const tenantAdmin = await mint(1, 'p', 'admin');
    assert.equal(await statusOn(1, tenantAdmin.token), 200, 'B knows the token (it signed it)');
    assert.equal((await call(`${urls[0]}/v1/projects/p/tokens/${tenantAdmin.id}`, { method: 'DELETE', token: admin })).status, 204);
    // At once, through B, before B's next revocation refresh: B may still take the token, but
    // whatever it mints with it must not survive the revocation.
    const minted = await call(`${urls[1]}/v1/projects/p/tokens`, { method: 'POST', token: tenantAdmin.token, body: { role: 'admin' } });
    await refusedOrShortLived(t, 'minting', minted, 201, async () => {
      assert.deepEqual(await statusesOn(tenantAdmin.token), [401, 401, 401], 'the revoked token is refused everywhere');
      assert.deepEqual(await statusesOn(minted.json.token), [401, 401, 401], 'the token it minted after its revocation is refused too');
    });
  });

  test('a revoked enrollment token cannot, in the revocation window of another server, enrol an agent whose token outlives its revocation', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    for (const serial of ['E-1', 'E-2']) {
      const r = await call(`${urls[0]}/v1/projects/p/hosts`, { method: 'POST', token: admin, body: { name: serial.toLowerCase(), spec: { serialNumber: serial, desiredState: 'onboarded' } } });
      assert.equal(r.status, 201, r.body);
    }
    const enrolment = await mint(1, 'p', 'enrollment');
    const enrol = (serial: string) => call(`${urls[1]}/southbound/v1/enroll`, { method: 'POST', token: enrolment.token, body: { serialNumber: serial, hostname: serial.toLowerCase() } });
    assert.equal((await enrol('E-1')).status, 200, 'B knows the token (it signed it)');
    assert.equal((await call(`${urls[0]}/v1/projects/p/tokens/${enrolment.id}`, { method: 'DELETE', token: admin })).status, 204);
    const late = await enrol('E-2');
    await refusedOrShortLived(t, 'enrolling', late, 200, async () => assert.deepEqual(await heartbeatsOn(late.json.token), [401, 401, 401], 'the agent token it got after its revocation is refused'));
  });

  test('an agent token revoked by id through A cannot, in the revocation window of B, renew itself into one that outlives the revocation', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const host = await call(`${urls[0]}/v1/projects/p/hosts`, { method: 'POST', token: admin, body: { name: 'renewer', spec: {} } });
    assert.equal(host.status, 201, host.body);
    const agent = await mint(1, 'p', 'agent', { hostId: host.json.id });
    assert.equal((await call(`${urls[1]}/southbound/v1/heartbeat`, { method: 'POST', token: agent.token, body: {} })).status, 204, 'B knows the token (it signed it)');
    assert.equal((await call(`${urls[0]}/v1/projects/p/tokens/${agent.id}`, { method: 'DELETE', token: admin })).status, 204);
    const renewed = await call(`${urls[1]}/southbound/v1/renew`, { method: 'POST', token: agent.token });
    await refusedOrShortLived(t, 'renewing', renewed, 200, async () => assert.deepEqual(await heartbeatsOn(renewed.json.token), [401, 401, 401], 'the token it renewed into after its revocation is refused'));
  });

  test("a tenant of p learns nothing of q's hosts through any server: list, get, summary, events, watch (lease-derived lastSeenAt too)", async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    // A host of q with a live lease: enrolled and heartbeating through C.
    const qHost = await call(`${urls[0]}/v1/projects/q/hosts`, { method: 'POST', token: admin, body: { name: 'q-secret', spec: { serialNumber: 'Q-1', desiredState: 'onboarded' } } });
    assert.equal(qHost.status, 201, qHost.body);
    const enrol = await mint(2, 'q', 'enrollment');
    const enrolled = await call(`${urls[2]}/southbound/v1/enroll`, { method: 'POST', token: enrol.token, body: { serialNumber: 'Q-1', hostname: 'q-secret' } });
    assert.equal(enrolled.status, 200, enrolled.body);
    assert.equal((await call(`${urls[2]}/southbound/v1/heartbeat`, { method: 'POST', token: enrolled.json.token, body: { intervalSeconds: 1 } })).status, 204);
    const pHost = await call(`${urls[1]}/v1/projects/p/hosts`, { method: 'POST', token: admin, body: { name: 'p-own', spec: {} } });
    assert.equal(pHost.status, 201, pHost.body);
    // The lease reaches the table (the flush every 2 s) and a q read shows it.
    await until(async () => (await call(`${urls[0]}/v1/projects/q/hosts/${qHost.json.id}`, { token: admin })).json.status?.lastSeenAt, 'q host lastSeenAt', { timeoutMs: 8000, intervalMs: 200 });

    const viewer = await mint(0, 'p', 'viewer');
    const qid = qHost.json.id as string;
    for (const url of urls) {
      const list = await call(`${url}/v1/projects/p/hosts?pageSize=1000`, { token: viewer.token });
      assert.equal(list.status, 200);
      const own = list.json.items.find((h: { id: string }) => h.id === pHost.json.id);
      assert.ok(own, 'p lists its own host');
      assert.ok(list.json.items.every((h: { project: string }) => h.project === 'p'));
      assert.equal(list.json.totalSize, list.json.items.length, 'the count is of p only');
      assert.equal(own.status.lastSeenAt, undefined, 'that host has no lease: no lastSeenAt');
      assert.doesNotMatch(list.body, new RegExp(`${qid}|q-secret`));
      for (const path of [`/v1/projects/p/hosts/${qid}`, `/v1/projects/q/hosts/${qid}`, `/v1/projects/q/hosts`, `/v1/projects/q/hosts:summary`, `/v1/projects/q/events`]) {
        const r = await call(`${url}${path}`, { token: viewer.token });
        assert.ok(r.status === 404 || r.status === 403, `${path}: ${r.status} ${r.body}`);
        assert.doesNotMatch(r.body, /q-secret/);
      }
      const filtered = await call(`${url}/v1/projects/p/hosts?filter=${encodeURIComponent(`id = ${qid}`)}`, { token: viewer.token });
      assert.deepEqual(filtered.json.items, []);
      const summary = await call(`${url}/v1/projects/p/hosts:summary`, { token: viewer.token });
      assert.equal(summary.status, 200, summary.body);
      assert.doesNotMatch(summary.body, new RegExp(`${qid}|q-secret`));
      const events = await call(`${url}/v1/projects/p/events?since=0&limit=1000`, { token: viewer.token });
      assert.equal(events.status, 200);
      assert.ok(events.json.events.every((e: { project: string }) => e.project === 'p'), 'only p events');
      assert.doesNotMatch(events.body, new RegExp(`${qid}|q-secret`));
    }
    // A watch of p on every server while q's host changes (and heartbeats) sees nothing of q.
    const frames: SseFrame[][] = urls.map(() => []);
    const watches = await Promise.all(urls.map((url, i) => openSse(`${url}/v1/projects/p/watch?since=0`, { token: viewer.token }, (f) => frames[i].push(f))));
    try {
      assert.equal((await call(`${urls[0]}/v1/projects/q/hosts/${qid}`, { method: 'PATCH', token: admin, body: { labels: { touched: 'yes' } } })).status, 200);
      assert.equal((await call(`${urls[2]}/southbound/v1/heartbeat`, { method: 'POST', token: enrolled.json.token, body: { intervalSeconds: 1 } })).status, 204);
      const mark = await call(`${urls[2]}/v1/projects/p/hosts/${pHost.json.id}`, { method: 'PATCH', token: admin, body: { labels: { mark: 'yes' } } });
      assert.equal(mark.status, 200);
      await until(() => frames.every((fs) => fs.some((f) => Number(f.id) === mark.json.revision)), 'the p mark reached every watch', { timeoutMs: 5000, intervalMs: 20 });
      for (const fs of frames) {
        for (const f of fs) assert.doesNotMatch(f.data ?? '', new RegExp(`${qid}|q-secret|"project":"q"`));
      }
    } finally {
      for (const w of watches) w.close();
    }
  });

  test('per-token limits hold per server process, as documented (up to 3× over three servers)', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const viewer = await mint(0, 'p', 'viewer');
    // Requests: one server refuses past the burst; another still has the token's whole burst.
    // In rounds of 2 × RATE at once until A refuses one: a loaded machine answers slower than the
    // bucket refills, so a fixed number of requests may all pass.
    let statuses: number[] = [];
    for (let round = 0; round < 10 && !statuses.includes(429); round++) statuses = await Promise.all(Array.from({ length: RATE * 2 }, () => statusOn(0, viewer.token)));
    assert.ok(statuses.includes(429), 'A limits the token');
    assert.equal(await statusOn(1, viewer.token), 200, "B keeps its own bucket for the token (README: per server process)");
    // Watches: MAX_WATCHES per server, so 3 × MAX_WATCHES over three servers.
    const open: { close: () => void }[] = [];
    try {
      for (const url of urls) for (let i = 0; i < MAX_WATCHES; i++) open.push(await openSse(`${url}/v1/projects/p/watch`, { token: viewer.token }, () => {}));
      await assert.rejects(openSse(`${urls[0]}/v1/projects/p/watch`, { token: viewer.token }, () => {}), /429/);
      assert.equal(open.length, 3 * MAX_WATCHES);
    } finally {
      for (const w of open) w.close();
    }
  });

  test('a watcher on B gets every write made through A and C, in order, once, while A restarts; resuming with since on C adds no duplicate and no gap', async (t) => {
    if (!cluster) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    const editor = await mint(2, 'p', 'editor');
    const viewer = await mint(2, 'p', 'viewer');
    const since = (await call(`${urls[1]}/v1/projects/p/regions?pageSize=1`, { token: viewer.token })).json.revision as number;
    const seen: number[] = [];
    const onFrame = (f: SseFrame) => {
      if (f.event !== 'BOOKMARK' && f.event !== 'ERROR') seen.push(Number(f.id));
    };
    const first = await openSse(`${urls[1]}/v1/projects/p/watch?kinds=regions&since=${since}`, { token: viewer.token }, onFrame);
    const written: number[] = [];
    const write = async (server: number, name: string) => {
      const r = await call(`${urls[server]}/v1/projects/p/regions`, { method: 'POST', token: editor.token, body: { name, spec: {} } });
      assert.equal(r.status, 201, r.body);
      written.push(r.json.revision as number);
    };
    for (let i = 0; i < 10; i++) await write(i % 2 === 0 ? 0 : 2, `w-before-${i}`);
    const restarting = cluster.restart(0);
    for (let i = 0; i < 10; i++) await write(2, `w-during-${i}`);
    await restarting;
    for (let i = 0; i < 10; i++) await write(i % 2 === 0 ? 0 : 2, `w-after-${i}`);
    await until(() => seen.includes(written.at(-1)!), 'the last write reached B', { timeoutMs: 5000, intervalMs: 20 });
    // Stop half way through a further batch and resume on C from the last revision seen.
    first.close();
    const lastSeen = seen.at(-1)!;
    for (let i = 0; i < 10; i++) await write(i % 2 === 0 ? 1 : 0, `w-resume-${i}`);
    const second = await openSse(`${urls[2]}/v1/projects/p/watch?kinds=regions`, { token: viewer.token, lastEventId: String(lastSeen) }, onFrame);
    try {
      await until(() => seen.includes(written.at(-1)!), 'the last write reached C', { timeoutMs: 5000, intervalMs: 20 });
    } finally {
      second.close();
    }
    assert.deepEqual(seen, written, 'every write once, in commit order, across the restart and the move to C');
  });
});
