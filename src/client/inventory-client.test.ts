import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ALL_PROJECTS, type Caller, EimError, type ErrorCode, type Inventory, isEimError } from '../api/index.ts';
import { openTestApp, type TestApp } from '../testing/test-app.ts';
import { InventoryClient } from './inventory-client.ts';

// The typed client against a real HTTP server in this process: it must answer exactly as the
// in-process Inventory does (results and errors), retry what is safe to retry, and nothing else.

const P = 'default';
const now = () => new Date().toISOString();

/** The EimError `promise` rejects with (fails the test when it resolves or throws anything else). */
async function errorOf(promise: Promise<unknown>): Promise<EimError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(isEimError(e), `expected an EimError, got ${String(e)}`);
    assert.ok(e instanceof EimError, 'the client throws the EimError class itself');
    return e;
  }
  assert.fail('expected the call to fail');
}

/** Asserts the client fails like the in-process call: same code, same message. */
async function sameError(remote: () => Promise<unknown>, local: () => Promise<unknown>, code: ErrorCode): Promise<EimError> {
  const r = await errorOf(remote());
  const l = await errorOf(local());
  assert.equal(l.code, code, `in-process code (${l.message})`);
  assert.equal(r.code, code, `client code (${r.message})`);
  assert.equal(r.message, l.message, 'the client carries the server message unchanged');
  return r;
}

describe('InventoryClient against an in-process server', () => {
  let srv: TestApp;
  const tok: Record<'admin' | 'manager' | 'editor' | 'viewer', string> = { admin: '', manager: '', editor: '', viewer: '' };
  const callers = {} as Record<keyof typeof tok, Caller>;
  const clients = {} as Record<keyof typeof tok, InventoryClient>;
  const local = (who: keyof typeof tok): Inventory => srv.inventory.as(callers[who]);

  before(async () => {
    srv = await openTestApp({ projects: [P], listen: true });
    const grants = {
      admin: { project: ALL_PROJECTS, role: 'admin' },
      manager: { project: ALL_PROJECTS, role: 'manager' },
      editor: { project: P, role: 'editor' },
      viewer: { project: P, role: 'viewer' },
    } as const;
    for (const who of Object.keys(tok) as (keyof typeof tok)[]) {
      tok[who] = (await srv.tokens.issue({ subject: who, grants: [grants[who]] })).token;
      callers[who] = await srv.tokens.verify(tok[who]);
      clients[who] = new InventoryClient({ server: srv.url, token: tok[who] });
    }
  });
  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await srv.close();
  });

  test('create, get, list and listAll answer as in-process', async () => {
    const viaClient = await clients.editor.create(P, 'Region', { name: 'eu', labels: { tier: 'edge' }, spec: {} });
    assert.match(viaClient.id, /^region-[0-9a-f]{8}$/);
    assert.deepEqual(await local('editor').get(P, 'Region', viaClient.id), viaClient);
    const viaLocal = await local('editor').create(P, 'Site', { name: 'berlin', spec: { regionId: viaClient.id, address: 'Alexanderplatz' } });
    assert.deepEqual(await clients.viewer.get(P, 'Site', viaLocal.id), viaLocal);

    for (let i = 0; i < 23; i++) await clients.editor.create(P, 'Region', { name: `r-${String(i).padStart(2, '0')}`, labels: { n: String(i % 3) }, spec: { parentRegionId: viaClient.id } });
    const opts = { filter: 'labels.n = "1" OR name = "eu"', orderBy: 'name desc', pageSize: 4 };
    const first = await clients.viewer.list(P, 'Region', opts);
    assert.deepEqual(first, await local('viewer').list(P, 'Region', opts));
    assert.equal(first.items.length, 4);
    assert.ok(first.nextPageToken, 'more pages');
    const second = await clients.viewer.list(P, 'Region', { ...opts, pageToken: first.nextPageToken });
    assert.deepEqual(second, await local('viewer').list(P, 'Region', { ...opts, pageToken: first.nextPageToken }));

    const all = await clients.viewer.listAll(P, 'Region', { orderBy: 'name', pageSize: 5 });
    const expected: string[] = [];
    let token: string | undefined;
    do {
      const page = await local('viewer').list(P, 'Region', { orderBy: 'name', pageSize: 1000, pageToken: token });
      expected.push(...page.items.map((r) => r.name));
      token = page.nextPageToken;
    } while (token);
    assert.equal(all.items.length, 24);
    assert.deepEqual(all.items.map((r) => r.name), expected, 'listAll follows every page token, in order');
    assert.equal(all.revision, (await local('viewer').list(P, 'Region', { pageSize: 1 })).revision);

    // Cross-project list: managers only.
    const everywhere = await clients.manager.listAll(ALL_PROJECTS, 'Region');
    assert.equal(everywhere.items.length, 24);
    await sameError(() => clients.viewer.list(ALL_PROJECTS, 'Region'), () => local('viewer').list(ALL_PROJECTS, 'Region'), 'permission_denied');
  });

  test('update with ifMatch, updateStatus with a manager token, two-phase and forced delete', async () => {
    const host = await clients.editor.create(P, 'Host', { name: 'edge-01', spec: { desiredState: 'registered', serialNumber: 'SN1' } });
    assert.equal(host.generation, 1);

    const patched = await clients.editor.update(P, 'Host', host.id, { labels: { line: '3' }, spec: { desiredState: 'onboarded' } }, { ifMatch: host.revision });
    assert.equal(patched.spec.desiredState, 'onboarded');
    assert.equal(patched.generation, 2);
    assert.deepEqual(await local('viewer').get(P, 'Host', host.id), patched);

    const stale = await sameError(
      () => clients.editor.update(P, 'Host', host.id, { labels: { line: '4' } }, { ifMatch: host.revision }),
      () => local('editor').update(P, 'Host', host.id, { labels: { line: '4' } }, { ifMatch: host.revision }),
      'conflict',
    );
    assert.deepEqual(stale.details, { currentRevision: patched.revision });

    const status = { currentState: 'registered', observedGeneration: patched.generation, hostStatus: { message: 'reconciling', indicator: 'in_progress', timestamp: now() } };
    const withStatus = await clients.manager.updateStatus(P, 'Host', host.id, status, { ifMatch: patched.revision });
    assert.deepEqual(withStatus.status, status);
    assert.equal(withStatus.generation, patched.generation, 'status writes do not bump the generation');
    assert.deepEqual(await local('viewer').get(P, 'Host', host.id), withStatus);
    await sameError(
      () => clients.editor.updateStatus(P, 'Host', host.id, { currentState: 'onboarded' }),
      () => local('editor').updateStatus(P, 'Host', host.id, { currentState: 'onboarded' }),
      'permission_denied',
    );

    // Two-phase: an editor's delete only marks the host; the same call in-process answers alike.
    const marked = await clients.editor.delete(P, 'Host', host.id);
    assert.equal(marked.removed, false);
    assert.equal((marked.resource.spec as { desiredState: string }).desiredState, 'deleted');
    assert.deepEqual(await local('editor').delete(P, 'Host', host.id), marked, 'a second request changes nothing and answers the same');
    assert.deepEqual(await clients.viewer.get(P, 'Host', host.id), marked.resource);

    await sameError(() => clients.editor.delete(P, 'Host', host.id, { force: true }), () => local('editor').delete(P, 'Host', host.id, { force: true }), 'permission_denied');
    const forced = await clients.admin.delete(P, 'Host', host.id, { force: true });
    assert.equal(forced.removed, true);
    assert.equal(forced.resource.id, host.id);
    await sameError(() => clients.viewer.get(P, 'Host', host.id), () => local('viewer').get(P, 'Host', host.id), 'not_found');

    // A kind without two phases goes at once.
    const region = await clients.editor.create(P, 'Region', { name: 'short-lived', spec: {} });
    const gone = await clients.editor.delete(P, 'Region', region.id);
    assert.equal(gone.removed, true);
    assert.deepEqual(gone.resource, { ...region, revision: gone.resource.revision, updatedAt: gone.resource.updatedAt });
  });

  test('events and watch carry the same events as in-process', async () => {
    const since = (await clients.viewer.list(P, 'Region', { pageSize: 1 })).revision;
    const a = await clients.editor.create(P, 'Region', { name: 'ev-a', spec: {} });
    await clients.editor.update(P, 'Region', a.id, { labels: { x: '1' } });
    await clients.editor.delete(P, 'Region', a.id);

    const page = await clients.viewer.events({ project: P, since });
    assert.deepEqual(page, await local('viewer').events({ project: P, since }));
    assert.deepEqual(page.events.map((e) => [e.type, e.id, e.actor]), [
      ['CREATED', a.id, 'editor (editor)'],
      ['UPDATED', a.id, 'editor (editor)'],
      ['DELETED', a.id, 'editor (editor)'],
    ]);
    const byId = await clients.viewer.events({ project: P, since: 0, id: a.id, kinds: ['Region'] });
    assert.deepEqual(byId, await local('viewer').events({ project: P, since: 0, id: a.id, kinds: ['Region'] }));

    const abort = new AbortController();
    const seen = [];
    for await (const item of clients.viewer.watch({ project: P, kinds: ['Region'], since, signal: abort.signal })) {
      if (item.type === 'event') seen.push(item.event());
      if (seen.length === 3) abort.abort();
    }
    assert.deepEqual(seen, page.events);
  });

  test('server errors arrive as EimError with the server code and message', async () => {
    const region = await clients.editor.create(P, 'Region', { name: 'taken', spec: {} });
    const dup = await sameError(
      () => clients.editor.create(P, 'Region', { name: 'taken', spec: {} }),
      () => local('editor').create(P, 'Region', { name: 'taken', spec: {} }),
      'conflict',
    );
    assert.deepEqual(dup.details, { existingId: region.id });
    assert.equal(dup.status, 409);
    await sameError(() => clients.viewer.get(P, 'Region', 'region-00000000'), () => local('viewer').get(P, 'Region', 'region-00000000'), 'not_found');
    await sameError(() => clients.viewer.get(P, 'Region', 'host-00000000'), () => local('viewer').get(P, 'Region', 'host-00000000'), 'invalid_argument');
    await sameError(
      () => clients.editor.create(P, 'Host', { name: 'bad', spec: { desiredState: 'flying' } }),
      () => local('editor').create(P, 'Host', { name: 'bad', spec: { desiredState: 'flying' } }),
      'invalid_argument',
    );
    await sameError(
      () => clients.viewer.create(P, 'Region', { name: 'nope', spec: {} }),
      () => local('viewer').create(P, 'Region', { name: 'nope', spec: {} }),
      'permission_denied',
    );
    await sameError(() => clients.viewer.list('other', 'Region'), () => local('viewer').list('other', 'Region'), 'not_found');

    // Authentication happens at the HTTP edge only.
    const anonymous = new InventoryClient({ server: srv.url });
    const forged = new InventoryClient({ server: srv.url, token: `${tok.viewer.slice(0, -4)}AAAA` });
    try {
      const e1 = await errorOf(anonymous.list(P, 'Region'));
      assert.equal(e1.code, 'unauthenticated');
      assert.match(e1.message, /Authorization: Bearer/);
      const e2 = await errorOf(forged.get(P, 'Region', region.id));
      assert.equal(e2.code, 'unauthenticated');
      assert.match(e2.message, /not valid for this server/);
    } finally {
      anonymous.close();
      forged.close();
    }
  });

  test('results are typed from the registry', async () => {
    const created = await clients.editor.create(P, 'Host', { name: 'typed', spec: { desiredState: 'registered' } });
    const h = await clients.viewer.get(P, 'Host', created.id);
    const desired: 'registered' | 'onboarded' | 'untrusted' | 'deleted' = h.spec.desiredState;
    const indicator: 'unspecified' | 'idle' | 'in_progress' | 'error' | undefined = h.status.hostStatus?.indicator;
    // @ts-expect-error Host specs have no such field
    void h.spec.imageUrl;
    const inventory: Inventory = clients.viewer; // the same interface as in-process
    const viaInterface = await inventory.get(P, 'Host', created.id);
    assert.equal(viaInterface.spec.desiredState, desired);
    assert.equal(indicator, undefined);
  });
});

interface FakeServer {
  url: string;
  /** Requests per "METHOD path". */
  attempts: Map<string, number[]>;
  close(): Promise<void>;
}

/** A tiny HTTP server: `answer(req, n)` decides the n-th (1-based) answer to the same method and path. */
async function fakeServer(answer: (req: http.IncomingMessage, n: number, res: http.ServerResponse) => void, port = 0): Promise<FakeServer> {
  const attempts = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = `${req.method} ${req.url!.split('?')[0]}`;
      const times = attempts.get(key) ?? [];
      times.push(performance.now());
      attempts.set(key, times);
      answer(req, times.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    attempts,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const REGION = { kind: 'Region', id: 'region-0a1b2c3d', project: P, name: 'eu', labels: {}, revision: 7, generation: 1, createdAt: now(), updatedAt: now(), spec: {}, status: {} };
const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
const unavailable = (res: http.ServerResponse) => sendJson(res, 503, { error: { code: 'unavailable', message: 'the store is not reachable right now; retry shortly' } });
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

describe('retries', () => {
  const BASE = 40;

  test('idempotent calls retry on 503 with growing backoff; a create and an unconditional update are not retried', async () => {
    const fake = await fakeServer((req, n, res) => {
      if (req.method === 'POST' || (req.method === 'PATCH' && !req.headers['if-match'])) return unavailable(res);
      if (n <= 2) return n === 1 ? unavailable(res) : res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>bad gateway</h1>');
      sendJson(res, 200, REGION);
    });
    const client = new InventoryClient({ server: fake.url, token: 't', retryBaseMs: BASE });
    try {
      const path = `/v1/projects/${P}/regions/${REGION.id}`;
      assert.deepEqual(await client.get(P, 'Region', REGION.id), REGION);
      const times = fake.attempts.get(`GET ${path}`)!;
      assert.equal(times.length, 3, 'two 503s, then the answer');
      const [g1, g2] = gaps(times);
      assert.ok(g1 >= BASE * 0.5 - 5, `first backoff ${g1.toFixed(0)} ms`);
      assert.ok(g2 >= BASE - 5, `second backoff ${g2.toFixed(0)} ms (doubles)`);

      assert.deepEqual(await client.update(P, 'Region', REGION.id, { labels: { a: '1' } }, { ifMatch: 7 }), REGION, 'a conditional update is safe to repeat');
      assert.equal(fake.attempts.get(`PATCH ${path}`)!.length, 3);

      const created = await errorOf(client.create(P, 'Region', { name: 'eu', spec: {} }));
      assert.equal(created.code, 'unavailable');
      assert.equal(created.message, 'the store is not reachable right now; retry shortly');
      assert.equal(fake.attempts.get(`POST /v1/projects/${P}/regions`)!.length, 1, 'a create is sent once: repeating it could create twice');

      fake.attempts.clear();
      assert.equal((await errorOf(client.update(P, 'Region', REGION.id, { labels: { a: '2' } }))).code, 'unavailable');
      assert.equal(fake.attempts.get(`PATCH ${path}`)!.length, 1, 'an unconditional update is sent once');
    } finally {
      client.close();
      await fake.close();
    }
  });

  test('idempotent calls retry while the connection is refused, and give up after `retries`', async () => {
    // A port that is free now: nothing listens until the fake server starts there.
    const probe = await fakeServer(() => {});
    const port = Number(new URL(probe.url).port);
    await probe.close();

    const dead = new InventoryClient({ server: `http://127.0.0.1:${port}`, retries: 3, retryBaseMs: BASE });
    const t0 = performance.now();
    const refused = await errorOf(dead.get(P, 'Region', REGION.id));
    const took = performance.now() - t0;
    dead.close();
    assert.equal(refused.code, 'unavailable');
    assert.match(refused.message, /cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    assert.ok(took >= BASE * 1.5 - 10, `gave up after backing off twice (${took.toFixed(0)} ms)`);

    const client = new InventoryClient({ server: `http://127.0.0.1:${port}`, retries: 8, retryBaseMs: BASE });
    let fake: FakeServer | undefined;
    const starting = new Promise<void>((resolve) => setTimeout(() => void fakeServer((_req, _n, res) => sendJson(res, 200, REGION), port).then((f) => ((fake = f), resolve())), 150));
    try {
      assert.deepEqual(await client.get(P, 'Region', REGION.id), REGION, 'the read succeeds once the server is up');
      await starting;
      assert.equal(fake!.attempts.get(`GET /v1/projects/${P}/regions/${REGION.id}`)!.length, 1);
    } finally {
      client.close();
      await starting;
      await fake?.close();
    }
  });

  test('several servers: a request that cannot connect goes to the next at once (a create too: nothing was sent), which stays current', async () => {
    const probe = await fakeServer(() => {});
    const deadPort = Number(new URL(probe.url).port);
    await probe.close();
    const live = await fakeServer((req, _n, res) => sendJson(res, req.method === 'POST' ? 201 : 200, REGION));
    const client = new InventoryClient({ server: `http://127.0.0.1:${deadPort}`, fallbacks: [live.url], token: 't', retries: 1, retryBaseMs: BASE });
    try {
      assert.deepEqual(await client.create(P, 'Region', { name: REGION.name, spec: {} }), REGION, 'the create reached the live server, without a retry');
      assert.deepEqual(await client.get(P, 'Region', REGION.id), REGION);
      assert.equal(live.attempts.get(`POST /v1/projects/${P}/regions`)!.length, 1);
      assert.equal(live.attempts.get(`GET /v1/projects/${P}/regions/${REGION.id}`)!.length, 1);
    } finally {
      client.close();
      await live.close();
    }
    // Every server down: the error names the last one tried, after one round.
    const alone = new InventoryClient({ server: `http://127.0.0.1:${deadPort}`, fallbacks: [`http://127.0.0.1:${deadPort}`], retries: 1 });
    assert.match((await errorOf(alone.get(P, 'Region', REGION.id))).message, /ECONNREFUSED/);
    alone.close();
  });

  test('a watch ends at once when aborted, also while it waits to reconnect', async () => {
    const probe = await fakeServer(() => {});
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const client = new InventoryClient({ server: `http://127.0.0.1:${port}`, token: 't' });
    const abort = new AbortController();
    let items = 0;
    let ended = 0;
    const consuming = (async () => {
      for await (const _ of client.watch({ project: P, since: 0, signal: abort.signal })) items++;
      ended = performance.now();
    })();
    // Refused again and again: by now the reconnect delay has grown well past a second.
    await new Promise((r) => setTimeout(r, 1600));
    const t0 = performance.now();
    abort.abort();
    await consuming;
    client.close();
    assert.equal(items, 0);
    assert.ok(ended - t0 < 100, `the watch ended ${(ended - t0).toFixed(0)} ms after the abort`);
  });

  test('Retry-After on 429 is honoured', async () => {
    const fake = await fakeServer((_req, n, res) => {
      if (n === 1) return sendJson(res, 429, { error: { code: 'rate_limited', message: 'too many requests for this token (limit 1/s); retry after 1 s' } }, { 'retry-after': '1' });
      sendJson(res, 200, { items: [REGION], revision: 7, totalSize: 1 });
    });
    const client = new InventoryClient({ server: fake.url, token: 't', retryBaseMs: 10 });
    try {
      const page = await client.list(P, 'Region');
      assert.deepEqual(page.items, [REGION]);
      const times = fake.attempts.get(`GET /v1/projects/${P}/regions`)!;
      assert.equal(times.length, 2);
      assert.ok(gaps(times)[0] >= 990, `waited ${gaps(times)[0].toFixed(0)} ms, as Retry-After asked (not the 10 ms backoff)`);

      // Out of attempts: the caller gets the server's error, with the wait it asked for.
      const once = new InventoryClient({ server: fake.url, token: 't', retries: 1 });
      fake.attempts.clear();
      const limited = await errorOf(once.get(P, 'Region', REGION.id).finally(() => once.close()));
      assert.equal(limited.code, 'rate_limited');
      assert.equal(limited.message, 'too many requests for this token (limit 1/s); retry after 1 s');
      assert.deepEqual(limited.details, { retryAfterSeconds: 1 });
      assert.equal(fake.attempts.get(`GET /v1/projects/${P}/regions/${REGION.id}`)!.length, 1);
    } finally {
      client.close();
      await fake.close();
    }
  });
});
