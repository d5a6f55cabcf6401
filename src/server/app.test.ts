import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { KINDS } from '../api/registry.ts';
import type { InventoryService } from '../inventory/index.ts';
import { openTestApp } from '../testing/test-app.ts';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { TokenService } from './auth/token-service.ts';

// The northbound contract (ARCHITECTURE.md §5, §6) driven in-process with app.inject, on both stores.

const ENVELOPE_KEYS = ['kind', 'id', 'project', 'name', 'labels', 'revision', 'generation', 'createdAt', 'updatedAt', 'spec', 'status'];
const EVENT_KEYS = ['type', 'revision', 'kind', 'id', 'project', 'object', 'actor', 'at'];
const P = '/v1/projects/default';
/** The order each store gives resources that lack the sort field; both must agree. */
const nullOrder = new Map<Dialect, string[]>();

interface Answer {
  status: number;
  raw: string;
  body: any;
  headers: Record<string, unknown>;
}

interface CallOptions {
  /** A bearer token; `null` sends no Authorization header. @default the cluster admin's */
  token?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (with content-type application/json unless `headers` says otherwise). */
  raw?: string;
  headers?: Record<string, string>;
}

interface Harness {
  app: FastifyInstance;
  svc: InventoryService;
  issuer: TokenService;
  admin: string;
  manager: string;
  call(method: string, url: string, options?: CallOptions): Promise<Answer>;
  token(grants: { project: string; role: string }[], ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

async function openHarness(dialect: Dialect): Promise<Harness> {
  const srv = await openTestApp({ dialect });
  const { app, inventory: svc, tokens: issuer, admin } = srv;
  const manager = (await issuer.issue({ subject: 'host-manager', grants: [{ project: '*', role: 'manager' }] })).token;
  return {
    app,
    svc,
    issuer,
    admin,
    manager,
    async call(method, url, o = {}) {
      const token = o.token === undefined ? admin : o.token;
      const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }) };
      let payload: string | undefined;
      if (o.body !== undefined || o.raw !== undefined) {
        payload = o.raw ?? JSON.stringify(o.body);
        headers['content-type'] = 'application/json';
      }
      const r = await app.inject({ method: method as 'GET', url, headers: { ...headers, ...o.headers }, payload });
      let body: unknown;
      try {
        body = r.body ? JSON.parse(r.body) : undefined;
      } catch {
        body = undefined;
      }
      return { status: r.statusCode, raw: r.body, body, headers: r.headers };
    },
    async token(grants, ttlSeconds) {
      return (await issuer.issue({ subject: 'someone', grants: grants as never, ttlSeconds })).token;
    },
    close: srv.close,
  };
}

/** Asserts the contract's error answer: the status, and a body that is exactly `{ error: { code, message, details? } }`. */
function assertError(r: Answer, status: number, code: string, what = ''): void {
  assert.equal(r.status, status, `${what}: expected ${status} ${code}, got ${r.status} ${r.raw.slice(0, 300)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, `${what}: error content-type`);
  assert.deepEqual(Object.keys(r.body ?? {}), ['error'], `${what}: body ${r.raw.slice(0, 200)}`);
  const e = r.body.error;
  assert.ok(e && typeof e === 'object', what);
  const keys = Object.keys(e);
  assert.ok(keys.includes('code') && keys.includes('message') && keys.every((k) => ['code', 'message', 'details'].includes(k)), `${what}: error keys ${keys}`);
  assert.equal(e.code, code, `${what}: ${e.message}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.trim().length > 0, `${what}: empty message`);
  if ('details' in e) assert.ok(e.details !== null && typeof e.details === 'object' && !Array.isArray(e.details), `${what}: details must be an object`);
}

function assertResource(r: unknown, kind: string, project = 'default'): asserts r is Record<string, any> {
  const res = r as Record<string, any>;
  assert.deepEqual(Object.keys(res), ENVELOPE_KEYS);
  assert.equal(res.kind, kind);
  assert.equal(res.project, project);
  assert.match(res.id, /^[a-z]+-[0-9a-f]{8}$/);
  assert.ok(Number.isSafeInteger(res.revision) && res.revision > 0);
  assert.ok(Number.isSafeInteger(res.generation) && res.generation > 0);
  assert.ok(!Number.isNaN(Date.parse(res.createdAt)) && !Number.isNaN(Date.parse(res.updatedAt)));
}

function assertEvent(e: unknown): asserts e is Record<string, any> {
  const ev = e as Record<string, any>;
  assert.deepEqual(Object.keys(ev), EVENT_KEYS);
  assert.ok(['CREATED', 'UPDATED', 'DELETED'].includes(ev.type));
  assert.equal(ev.object.revision, ev.revision);
  assert.equal(ev.object.id, ev.id);
  assert.equal(ev.object.kind, ev.kind);
  assert.equal(ev.object.project, ev.project);
  assert.equal(typeof ev.actor, 'string');
  assert.ok(ev.actor.length > 0);
  assert.equal(new Date(ev.at).toISOString(), ev.at);
}

async function withHarness(t: TestContext, dialect: Dialect): Promise<Harness | undefined> {
  if (dialect === 'postgres' && !(await pgReachable())) {
    t.skip(`PostgreSQL not reachable at ${PG_URL}`);
    return undefined;
  }
  const h = await openHarness(dialect);
  t.after(() => h.close());
  return h;
}

for (const dialect of DIALECTS) {
  test(`northbound API on ${dialect}`, async (t) => {
    const h = await withHarness(t, dialect);
    if (!h) return;

    await t.test('an empty list is exactly { items, revision, totalSize }', async () => {
      assert.equal((await h.call('POST', '/v1/projects', { body: { name: 'empty' } })).status, 201);
      const r = await h.call('GET', '/v1/projects/empty/hosts');
      assert.equal(r.status, 200);
      assert.equal(r.raw, `{"items":[],"revision":${await h.svc.store.currentRevision()},"totalSize":0}`);
      const all = await h.call('GET', '/v1/regions');
      assert.equal(all.raw, `{"items":[],"revision":${await h.svc.store.currentRevision()},"totalSize":0}`);
    });

    await t.test('create → 201, get, merge patch, If-Match', async () => {
      const c = await h.call('POST', `${P}/regions`, { body: { name: 'emea', labels: { a: '1', b: '2' }, spec: {} } });
      assert.equal(c.status, 201, c.raw);
      assertResource(c.body, 'Region');
      assert.match(c.body.id, /^region-[0-9a-f]{8}$/);
      assert.equal(c.body.generation, 1);
      assert.deepEqual(c.body.labels, { a: '1', b: '2' });
      const url = `${P}/regions/${c.body.id}`;

      const g = await h.call('GET', url);
      assert.equal(g.status, 200);
      assert.deepEqual(g.body, c.body);

      const p1 = await h.call('PATCH', url, { body: { labels: { a: null, c: '3' } } });
      assert.equal(p1.status, 200, p1.raw);
      assert.deepEqual(p1.body.labels, { b: '2', c: '3' });
      assert.equal(p1.body.generation, 2);
      assert.ok(p1.body.revision > c.body.revision);

      const p2 = await h.call('PATCH', url, { raw: '{"name":"europe","labels":{"b":null}}', headers: { 'content-type': 'application/merge-patch+json' } });
      assert.equal(p2.status, 200, p2.raw);
      assert.equal(p2.body.name, 'europe');
      assert.deepEqual(p2.body.labels, { c: '3' });
      assert.equal(p2.body.generation, 3);

      const noop = await h.call('PATCH', url, { body: { labels: { c: '3' } } });
      assert.equal(noop.status, 200);
      assert.equal(noop.body.revision, p2.body.revision, 'a patch that changes nothing writes nothing');

      const stale = await h.call('PATCH', url, { body: { labels: { d: '4' } }, headers: { 'if-match': `"${c.body.revision}"` } });
      assertError(stale, 409, 'conflict', 'stale If-Match');
      assert.deepEqual((await h.call('GET', url)).body, p2.body, 'a refused patch changes nothing');

      const fresh = await h.call('PATCH', url, { body: { labels: { d: '4' } }, headers: { 'if-match': `"${p2.body.revision}"` } });
      assert.equal(fresh.status, 200, fresh.raw);
      assert.deepEqual(fresh.body.labels, { c: '3', d: '4' });

      // A merge patch of spec keeps what it does not mention and removes what it sets to null.
      const site = await h.call('POST', `${P}/sites`, { body: { name: 'plant-1', spec: { regionId: c.body.id, address: 'Main St 1', latitude: 10 } } });
      assert.equal(site.status, 201, site.raw);
      const sp = await h.call('PATCH', `${P}/sites/${site.body.id}`, { raw: '{"spec":{"latitude":20,"address":null}}', headers: { 'content-type': 'application/merge-patch+json' } });
      assert.equal(sp.status, 200, sp.raw);
      assert.deepEqual(sp.body.spec, { regionId: c.body.id, latitude: 20 });

      assertError(await h.call('POST', `${P}/regions`, { body: { name: 'europe', spec: {} } }), 409, 'conflict', 'duplicate name');
      const other = await h.call('POST', `${P}/regions`, { body: { name: 'apac', spec: {} } });
      assertError(await h.call('PATCH', `${P}/regions/${other.body.id}`, { body: { name: 'europe' } }), 409, 'conflict', 'rename onto a taken name');
      assertError(await h.call('POST', `${P}/sites`, { body: { name: 'plant-2', spec: { regionId: 'region-00000000' } } }), 409, 'failed_precondition', 'missing reference');
    });

    await t.test('PATCH …/status is for managers only', async () => {
      const host = (await h.call('POST', `${P}/hosts`, { body: { name: 'edge-status', spec: { serialNumber: 'SN-1' } } })).body;
      assertResource(host, 'Host');
      assert.equal(host.spec.desiredState, 'registered', 'the spec default');
      const url = `${P}/hosts/${host.id}/status`;
      const status = { currentState: 'registered', hostStatus: { message: 'up', indicator: 'idle', timestamp: '2026-01-01T00:00:00.000Z' } };

      assertError(await h.call('PATCH', url, { body: status }), 403, 'permission_denied', 'admin writes status');
      const editor = await h.token([{ project: 'default', role: 'editor' }]);
      assertError(await h.call('PATCH', url, { body: status, token: editor }), 403, 'permission_denied', 'editor writes status');

      const m = await h.call('PATCH', url, { body: status, token: h.manager });
      assert.equal(m.status, 200, m.raw);
      assert.deepEqual(m.body.status, status);
      assert.equal(m.body.generation, host.generation, 'status writes never bump generation');
      assert.ok(m.body.revision > host.revision);

      const m2 = await h.call('PATCH', url, { raw: '{"hostStatus":null}', headers: { 'content-type': 'application/merge-patch+json' }, token: h.manager });
      assert.equal(m2.status, 200, m2.raw);
      assert.deepEqual(m2.body.status, { currentState: 'registered' });

      assertError(await h.call('PATCH', url, { body: { currentState: 'onboarded' }, token: h.manager, headers: { 'if-match': `"${host.revision}"` } }), 409, 'conflict', 'stale status write');
      assertError(await h.call('PATCH', `${P}/hosts/${host.id}`, { body: { labels: { x: '1' } }, token: h.manager }), 403, 'permission_denied', 'manager writes spec fields');
    });

    await t.test('DELETE: two-phase for hosts (202 + UPDATED), force (200, gone), referenced → 409', async () => {
      const host = (await h.call('POST', `${P}/hosts`, { body: { name: 'edge-delete', spec: {} } })).body;
      const url = `${P}/hosts/${host.id}`;
      const d = await h.call('DELETE', url);
      assert.equal(d.status, 202, d.raw);
      assertResource(d.body, 'Host');
      assert.equal(d.body.spec.desiredState, 'deleted');
      assert.equal(d.body.generation, host.generation + 1);
      const ev = await h.call('GET', `${P}/events?since=${host.revision}&id=${host.id}`);
      assert.deepEqual(ev.body.events.map((e: any) => e.type), ['UPDATED']);
      assert.equal(ev.body.events[0].object.spec.desiredState, 'deleted');
      assert.equal((await h.call('GET', url)).status, 200, 'the row stays until its manager removes it');

      const again = await h.call('DELETE', url);
      assert.equal(again.status, 202);
      assert.equal(again.body.revision, d.body.revision, 'asking twice writes once');

      const editor = await h.token([{ project: 'default', role: 'editor' }]);
      assertError(await h.call('DELETE', `${url}?force=true`, { token: editor }), 403, 'permission_denied', 'editor force-deletes');

      const nic = await h.call('POST', `${P}/host-nics`, { token: h.manager, body: { name: 'edge-delete-eth0', status: { hostId: host.id, deviceName: 'eth0' } } });
      assert.equal(nic.status, 201, nic.raw);
      assertResource(nic.body, 'HostNic');

      const f = await h.call('DELETE', `${url}?force=true`);
      assert.equal(f.status, 200, f.raw);
      assert.equal(f.body.id, host.id);
      assertError(await h.call('GET', url), 404, 'not_found', 'force-deleted host');
      assertError(await h.call('GET', `${P}/host-nics/${nic.body.id}`), 404, 'not_found', 'a force-deleted host takes its devices');
      const ev2 = await h.call('GET', `${P}/events?since=${d.body.revision}&kinds=hosts,host-nics`);
      assert.deepEqual(ev2.body.events.map((e: any) => [e.type, e.kind]), [['CREATED', 'HostNic'], ['DELETED', 'HostNic'], ['DELETED', 'Host']]);

      const region = (await h.call('POST', `${P}/regions`, { body: { name: 'referenced', spec: {} } })).body;
      const site = (await h.call('POST', `${P}/sites`, { body: { name: 'referrer', spec: { regionId: region.id } } })).body;
      assertError(await h.call('DELETE', `${P}/regions/${region.id}`), 409, 'failed_precondition', 'delete a referenced region');
      assert.equal((await h.call('DELETE', `${P}/sites/${site.id}`)).status, 200);
      assert.equal((await h.call('DELETE', `${P}/regions/${region.id}`)).status, 200);
      assertError(await h.call('DELETE', `${P}/regions/${region.id}`), 404, 'not_found', 'delete twice');
    });

    await t.test('/events?since=&limit=&kinds=&id= pages', async () => {
      const since = await h.svc.store.currentRevision();
      const r1 = (await h.call('POST', `${P}/regions`, { body: { name: 'ev-r1', spec: {} } })).body;
      const h1 = (await h.call('POST', `${P}/hosts`, { body: { name: 'ev-h1', spec: {} } })).body;
      await h.call('PATCH', `${P}/regions/${r1.id}`, { body: { labels: { x: '1' } } });
      const h2 = (await h.call('POST', `${P}/hosts`, { body: { name: 'ev-h2', spec: {} } })).body;

      const all = await h.call('GET', `${P}/events?since=${since}`);
      assert.equal(all.status, 200);
      assert.deepEqual(Object.keys(all.body), ['events', 'revision']);
      assert.deepEqual(all.body.events.map((e: any) => [e.type, e.id]), [['CREATED', r1.id], ['CREATED', h1.id], ['UPDATED', r1.id], ['CREATED', h2.id]]);
      for (const e of all.body.events) assertEvent(e);
      assert.match(all.body.events[0].actor, /admin/);
      assert.equal(all.body.revision, h2.revision);

      const p1 = await h.call('GET', `${P}/events?since=${since}&limit=3`);
      assert.equal(p1.body.events.length, 3);
      assert.equal(p1.body.revision, p1.body.events[2].revision, 'a full page continues from its last event');
      const p2 = await h.call('GET', `${P}/events?since=${p1.body.revision}&limit=3`);
      assert.deepEqual([...p1.body.events, ...p2.body.events], all.body.events);
      const p3 = await h.call('GET', `${P}/events?since=${p2.body.revision}&limit=3`);
      assert.deepEqual(p3.body.events, []);
      assert.equal(p3.body.revision, await h.svc.store.currentRevision());

      const hosts = await h.call('GET', `${P}/events?since=${since}&kinds=hosts`);
      assert.deepEqual(hosts.body.events.map((e: any) => e.id), [h1.id, h2.id]);
      const byName = await h.call('GET', `${P}/events?since=${since}&kinds=Region,hosts`);
      assert.equal(byName.body.events.length, 4);
      const one = await h.call('GET', `${P}/events?since=${since}&id=${r1.id}`);
      assert.deepEqual(one.body.events.map((e: any) => e.type), ['CREATED', 'UPDATED']);
    });

    await t.test('cross-project /v1/hosts and /v1/events are for managers and cluster admins', async () => {
      const proj = await h.call('POST', '/v1/projects', { body: { name: 'other' } });
      assert.equal(proj.status, 201, proj.raw);
      assert.equal(proj.body.name, 'other');
      const since = await h.svc.store.currentRevision();
      const mine = (await h.call('POST', `${P}/hosts`, { body: { name: 'xp-default', spec: {} } })).body;
      const theirs = (await h.call('POST', '/v1/projects/other/hosts', { body: { name: 'xp-other', spec: {} } })).body;
      assertResource(theirs, 'Host', 'other');

      const list = await h.call('GET', '/v1/hosts?pageSize=1000', { token: h.manager });
      assert.equal(list.status, 200, list.raw);
      const ids = list.body.items.map((r: any) => r.id);
      assert.ok(ids.includes(mine.id) && ids.includes(theirs.id));
      assert.equal(list.body.totalSize, list.body.items.length);

      const ev = await h.call('GET', `/v1/events?since=${since}&kinds=hosts`, { token: h.manager });
      assert.equal(ev.status, 200, ev.raw);
      assert.deepEqual(ev.body.events.map((e: any) => [e.project, e.id]), [['default', mine.id], ['other', theirs.id]]);
      assert.equal((await h.call('GET', '/v1/hosts')).status, 200, 'a cluster admin may list across projects');

      const projectAdmin = await h.token([{ project: 'default', role: 'admin' }]);
      assertError(await h.call('GET', '/v1/hosts', { token: projectAdmin }), 403, 'permission_denied', 'project admin lists all projects');
      assertError(await h.call('GET', '/v1/events', { token: projectAdmin }), 403, 'permission_denied', 'project admin reads all events');
      assertError(await h.call('GET', '/v1/projects/other/hosts', { token: projectAdmin }), 404, 'not_found', 'another tenant lists');
      assertError(await h.call('GET', `/v1/projects/other/hosts/${theirs.id}`, { token: projectAdmin }), 404, 'not_found', 'another tenant gets');
      assertError(await h.call('GET', `${P}/hosts/${theirs.id}`, { token: projectAdmin }), 404, 'not_found', 'id guessing across projects');
      assertError(await h.call('GET', '/v1/projects/other/events', { token: projectAdmin }), 404, 'not_found', 'another tenant reads events');
      const seen = await h.call('GET', '/v1/projects', { token: projectAdmin });
      assert.deepEqual(seen.body.items.map((p: any) => p.name), ['default']);
    });

    await t.test('filter, orderBy, pageSize and pageToken over HTTP', async (st) => {
      assert.equal((await h.call('POST', '/v1/projects', { body: { name: 'paging' } })).status, 201);
      const base = '/v1/projects/paging/regions';
      const parent = (await h.call('POST', base, { body: { name: 'top', spec: {} } })).body;
      for (let i = 0; i < 7; i++) {
        const r = await h.call('POST', base, { body: { name: `r${i}`, labels: { line: String(i % 3) }, spec: { parentRegionId: parent.id } } });
        assert.equal(r.status, 201, r.raw);
      }
      const names = async (q: string) => {
        const r = await h.call('GET', `${base}?${q}`);
        assert.equal(r.status, 200, `${q}: ${r.raw}`);
        return r.body.items.map((x: any) => x.name) as string[];
      };
      const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
      assert.deepEqual(await names(''), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'top'], 'default order is by name');
      assert.deepEqual(await names(q({ orderBy: 'name desc' })), ['top', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
      assert.deepEqual(await names(q({ filter: 'labels.line = "1"' })), ['r1', 'r4']);
      assert.deepEqual(await names(q({ filter: 'labels.line = "1" OR labels.line = "2"', orderBy: 'name desc' })), ['r5', 'r4', 'r2', 'r1']);
      assert.deepEqual(await names(q({ filter: 'NOT (labels.line = "0") AND name != r5' })), ['r1', 'r2', 'r4', 'top'], 'a missing label is not equal to anything');
      assert.equal((await names(q({ filter: `spec.parentRegionId = ${parent.id}` }))).length, 7);
      assert.deepEqual(await names(q({ filter: 'name = "t*"' })), ['top']);
      assert.deepEqual(await names(q({ filter: 'name = "r*"', orderBy: 'labels.line desc, name' })), ['r2', 'r5', 'r1', 'r4', 'r0', 'r3', 'r6']);
      nullOrder.set(dialect, await names(q({ orderBy: 'labels.line desc, name' })));

      // Walk the pages of one query; the token is bound to it.
      const query = { filter: 'name = "r*"', orderBy: 'name desc' };
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const r: Answer = await h.call('GET', `${base}?${q({ ...query, pageSize: '3', ...(token ? { pageToken: token } : {}) })}`);
        assert.equal(r.status, 200, r.raw);
        assert.equal(r.body.totalSize, 7);
        assert.ok(r.body.items.length <= 3);
        seen.push(...r.body.items.map((x: any) => x.name));
        token = r.body.nextPageToken;
        if (token !== undefined) assert.equal(typeof token, 'string');
        pages++;
      } while (token);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ['r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);

      const first = await h.call('GET', `${base}?${q({ ...query, pageSize: '2' })}`);
      assert.deepEqual(Object.keys(first.body).sort(), ['items', 'nextPageToken', 'revision', 'totalSize']);
      const tok = first.body.nextPageToken as string;
      assertError(await h.call('GET', `${base}?${q({ filter: 'name = "top"', pageToken: tok })}`), 400, 'invalid_argument', 'token of another query');
      assertError(await h.call('GET', `/v1/projects/default/regions?${q({ ...query, pageToken: tok })}`), 400, 'invalid_argument', 'token of another project');
      // A token whose position was tampered with: never a 5xx.
      const decoded = JSON.parse(Buffer.from(tok, 'base64url').toString());
      const forged = async (o: number) => {
        const r = await h.call('GET', `${base}?${q({ ...query, pageToken: Buffer.from(JSON.stringify({ ...decoded, o })).toString('base64url') })}`);
        if (r.status === 200) assert.deepEqual(r.body.items, [], `offset ${o}`);
        else assertError(r, 400, 'invalid_argument', `forged offset ${o}`);
      };
      await forged(1e15);
      for (const o of [2 ** 63, 1e300]) await forged(o);
      const big = await h.call('GET', `${base}?pageSize=5000`);
      assert.equal(big.status, 200, 'pageSize above 1000 is capped');
      assert.equal(big.body.items.length, 8);
      assert.equal(big.body.nextPageToken, undefined);
    });

    await t.test('bad input is a 4xx with the contract error body, never a 500', async () => {
      const region = (await h.call('POST', `${P}/regions`, { body: { name: 'bad-input', spec: {} } })).body;
      const host = (await h.call('POST', `${P}/hosts`, { body: { name: 'bad-input', spec: {} } })).body;
      const otherStore = await openTestStore('sqlite');
      t.after(() => otherStore.cleanup());
      const foreign = (await (await TokenService.open({ auth: otherStore.store.auth })).issue({ subject: 'admin', grants: [{ project: '*', role: 'admin' }] })).token;
      const expired = await h.token([{ project: '*', role: 'admin' }], -10);
      const agent = await h.token([{ project: 'default', role: 'agent' }]);
      const enrollment = await h.token([{ project: 'default', role: 'enrollment' }]);
      const viewer = await h.token([{ project: 'default', role: 'viewer' }]);
      const R = `${P}/regions`;
      const RID = `${R}/${region.id}`;
      const HID = `${P}/hosts/${host.id}`;
      const tooBig = JSON.stringify({ name: 'big', spec: {}, labels: { a: 'x'.repeat(1024 * 1024) } });

      type Case = [name: string, method: string, url: string, options: CallOptions, status: number, code: string];
      const cases: Case[] = [
        // Bodies.
        ['malformed JSON', 'POST', R, { raw: '{"name": "x", "spec": {' }, 400, 'invalid_argument'],
        ['malformed merge patch', 'PATCH', RID, { raw: '{labels}', headers: { 'content-type': 'application/merge-patch+json' } }, 400, 'invalid_argument'],
        ['empty JSON body', 'POST', R, { raw: '' }, 400, 'invalid_argument'],
        ['no body at all', 'POST', R, {}, 400, 'invalid_argument'],
        ['body is null', 'POST', R, { raw: 'null' }, 400, 'invalid_argument'],
        ['body is an array', 'POST', R, { body: [{ name: 'x', spec: {} }] }, 400, 'invalid_argument'],
        ['body is a string', 'POST', R, { body: 'region' }, 400, 'invalid_argument'],
        ['body is a number', 'PATCH', RID, { raw: '42' }, 400, 'invalid_argument'],
        ['text/plain body', 'POST', R, { raw: 'name=x', headers: { 'content-type': 'text/plain' } }, 400, 'invalid_argument'],
        ['__proto__ key', 'POST', R, { raw: '{"name":"p","spec":{},"__proto__":{"admin":true}}' }, 400, 'invalid_argument'],
        ['body over 1 MiB', 'POST', R, { raw: tooBig }, 413, 'payload_too_large'],
        ['name is a number', 'POST', R, { body: { name: 42, spec: {} } }, 400, 'invalid_argument'],
        ['name is empty', 'POST', R, { body: { name: '', spec: {} } }, 400, 'invalid_argument'],
        ['name has spaces', 'POST', R, { body: { name: 'a b', spec: {} } }, 400, 'invalid_argument'],
        ['name missing', 'POST', R, { body: { spec: {} } }, 400, 'invalid_argument'],
        ['spec missing', 'POST', R, { body: { name: 'nospec' } }, 400, 'invalid_argument'],
        ['spec is an array', 'POST', R, { body: { name: 'x', spec: [] } }, 400, 'invalid_argument'],
        ['label value is a number', 'POST', R, { body: { name: 'x', spec: {}, labels: { a: 1 } } }, 400, 'invalid_argument'],
        ['labels is a string', 'POST', R, { body: { name: 'x', spec: {}, labels: 'a=1' } }, 400, 'invalid_argument'],
        ['bad label key', 'POST', R, { body: { name: 'x', spec: {}, labels: { 'a b': '1' } } }, 400, 'invalid_argument'],
        ['latitude is a string', 'POST', `${P}/sites`, { body: { name: 'x', spec: { regionId: region.id, latitude: 'north' } } }, 400, 'invalid_argument'],
        ['latitude out of range', 'POST', `${P}/sites`, { body: { name: 'x', spec: { regionId: region.id, latitude: 91 } } }, 400, 'invalid_argument'],
        ['reference of the wrong kind', 'POST', `${P}/sites`, { body: { name: 'x', spec: { regionId: host.id } } }, 400, 'invalid_argument'],
        ['unknown desiredState', 'POST', `${P}/hosts`, { body: { name: 'x', spec: { desiredState: 'flying' } } }, 400, 'invalid_argument'],
        ['unknown top-level field', 'POST', R, { body: { name: 'x', spec: {}, colour: 'red' } }, 400, 'invalid_argument'],
        ['read-only field id', 'POST', R, { body: { name: 'x', spec: {}, id: 'region-0a1b2c3d' } }, 400, 'invalid_argument'],
        ['status on a create', 'POST', `${P}/hosts`, { body: { name: 'x', spec: {}, status: { currentState: 'onboarded' } } }, 400, 'invalid_argument'],
        ['unknown spec field', 'POST', R, { body: { name: 'x', spec: { colour: 'red' } } }, 400, 'invalid_argument'],
        ['patch of revision', 'PATCH', RID, { body: { revision: 1 } }, 400, 'invalid_argument'],
        ['patch of status through the spec route', 'PATCH', HID, { body: { status: { currentState: 'onboarded' } } }, 400, 'invalid_argument'],
        ['patch spec is a string', 'PATCH', RID, { body: { spec: 'x' } }, 400, 'invalid_argument'],
        ['patch labels is an array', 'PATCH', RID, { body: { labels: ['a'] } }, 400, 'invalid_argument'],
        ['patch name null', 'PATCH', RID, { body: { name: null } }, 400, 'invalid_argument'],
        ['patch unknown spec field', 'PATCH', RID, { body: { spec: { colour: 'red' } } }, 400, 'invalid_argument'],
        ['status patch unknown field', 'PATCH', `${HID}/status`, { body: { mood: 'happy' }, token: h.manager }, 400, 'invalid_argument'],
        ['status patch wrong type', 'PATCH', `${HID}/status`, { body: { currentState: 7 }, token: h.manager }, 400, 'invalid_argument'],
        ['status patch is an array', 'PATCH', `${HID}/status`, { body: [], token: h.manager }, 400, 'invalid_argument'],
        // Ids.
        ['id not an id', 'GET', `${R}/emea`, {}, 400, 'invalid_argument'],
        ['id with upper case', 'GET', `${R}/REGION-0A1B2C3D`, {}, 400, 'invalid_argument'],
        ['id too long', 'GET', `${R}/region-0a1b2c3d0`, {}, 400, 'invalid_argument'],
        ['id of another kind (get)', 'GET', `${R}/${host.id}`, {}, 400, 'invalid_argument'],
        ['id of another kind (patch)', 'PATCH', `${P}/hosts/${region.id}`, { body: { labels: {} } }, 400, 'invalid_argument'],
        ['id of another kind (delete)', 'DELETE', `${P}/hosts/${region.id}`, {}, 400, 'invalid_argument'],
        ['id of another kind (status)', 'PATCH', `${P}/hosts/${region.id}/status`, { body: {}, token: h.manager }, 400, 'invalid_argument'],
        ['id of an unknown prefix', 'GET', `${R}/zone-0a1b2c3d`, {}, 400, 'invalid_argument'],
        ['bad percent-encoding in the path', 'GET', `${R}/%ZZ`, {}, 400, 'invalid_argument'],
        ['absent id', 'GET', `${R}/region-00000000`, {}, 404, 'not_found'],
        ['absent id (patch)', 'PATCH', `${R}/region-00000000`, { body: { labels: {} } }, 404, 'not_found'],
        // Query parameters.
        ['filter syntax', 'GET', `${R}?filter=${encodeURIComponent('name = (')}`, {}, 400, 'invalid_argument'],
        ['filter unknown field', 'GET', `${R}?filter=${encodeURIComponent('colour = red')}`, {}, 400, 'invalid_argument'],
        ['filter unknown spec field', 'GET', `${R}?filter=${encodeURIComponent('spec.colour = red')}`, {}, 400, 'invalid_argument'],
        ['filter unterminated string', 'GET', `${R}?filter=${encodeURIComponent('name = "abc')}`, {}, 400, 'invalid_argument'],
        ['filter unknown operator', 'GET', `${R}?filter=${encodeURIComponent('name ~ a')}`, {}, 400, 'invalid_argument'],
        ['filter too deep', 'GET', `${R}?filter=${encodeURIComponent(`${'('.repeat(100)}name = a${')'.repeat(100)}`)}`, {}, 400, 'invalid_argument'],
        ['filter too long', 'GET', `${R}?filter=${encodeURIComponent(`name = ${'a'.repeat(10000)}`)}`, {}, 400, 'invalid_argument'],
        ['filter given twice', 'GET', `${R}?filter=name%3Da&filter=name%3Db`, {}, 400, 'invalid_argument'],
        ['orderBy unknown field', 'GET', `${R}?orderBy=colour`, {}, 400, 'invalid_argument'],
        ['orderBy bad direction', 'GET', `${R}?orderBy=${encodeURIComponent('name sideways')}`, {}, 400, 'invalid_argument'],
        ['orderBy trailing comma', 'GET', `${R}?orderBy=${encodeURIComponent('name,')}`, {}, 400, 'invalid_argument'],
        ['orderBy given twice', 'GET', `${R}?orderBy=name&orderBy=id`, {}, 400, 'invalid_argument'],
        ['pageToken garbage', 'GET', `${R}?pageToken=garbage`, {}, 400, 'invalid_argument'],
        ['pageToken not base64', 'GET', `${R}?pageToken=${encodeURIComponent('!!!***')}`, {}, 400, 'invalid_argument'],
        ['pageToken negative offset', 'GET', `${R}?pageToken=${Buffer.from('{"o":-1,"h":"x"}').toString('base64url')}`, {}, 400, 'invalid_argument'],
        ['pageToken given twice', 'GET', `${R}?pageToken=a&pageToken=b`, {}, 400, 'invalid_argument'],
        ['pageSize not a number', 'GET', `${R}?pageSize=ten`, {}, 400, 'invalid_argument'],
        ['pageSize fractional', 'GET', `${R}?pageSize=1.5`, {}, 400, 'invalid_argument'],
        ['pageSize zero', 'GET', `${R}?pageSize=0`, {}, 400, 'invalid_argument'],
        ['pageSize negative', 'GET', `${R}?pageSize=-1`, {}, 400, 'invalid_argument'],
        ['pageSize huge', 'GET', `${R}?pageSize=99999999999999999999`, {}, 400, 'invalid_argument'],
        ['since not a number', 'GET', `${P}/events?since=yesterday`, {}, 400, 'invalid_argument'],
        ['since negative', 'GET', `${P}/events?since=-1`, {}, 400, 'invalid_argument'],
        ['since beyond 2^53', 'GET', `${P}/events?since=9999999999999999`, {}, 400, 'invalid_argument'],
        ['limit not a number', 'GET', `${P}/events?limit=many`, {}, 400, 'invalid_argument'],
        ['limit zero', 'GET', `${P}/events?limit=0`, {}, 400, 'invalid_argument'],
        ['events id not an id', 'GET', `${P}/events?id=emea`, {}, 400, 'invalid_argument'],
        ['events id twice', 'GET', `${P}/events?id=${region.id}&id=${host.id}`, {}, 400, 'invalid_argument'],
        ['unknown kind in kinds= (events)', 'GET', `${P}/events?kinds=hosts,spaceships`, {}, 400, 'invalid_argument'],
        ['unknown kind in kinds= (watch)', 'GET', `${P}/watch?kinds=spaceships`, {}, 400, 'invalid_argument'],
        ['watch since not a number', 'GET', `${P}/watch?since=soon`, {}, 400, 'invalid_argument'],
        ['watch Last-Event-ID not a number', 'GET', `${P}/watch`, { headers: { 'last-event-id': 'abc' } }, 400, 'invalid_argument'],
        ['force is not a boolean', 'DELETE', `${RID}?force=maybe`, {}, 400, 'invalid_argument'],
        // If-Match.
        ['If-Match not a revision', 'PATCH', RID, { body: { labels: {} }, headers: { 'if-match': 'abc' } }, 400, 'invalid_argument'],
        ['If-Match quoted word', 'PATCH', RID, { body: { labels: {} }, headers: { 'if-match': '"abc"' } }, 400, 'invalid_argument'],
        ['If-Match two revisions', 'PATCH', RID, { body: { labels: {} }, headers: { 'if-match': '"1", "2"' } }, 400, 'invalid_argument'],
        ['If-Match negative', 'DELETE', RID, { headers: { 'if-match': '"-1"' } }, 400, 'invalid_argument'],
        ['If-Match stale on delete', 'DELETE', RID, { headers: { 'if-match': '"1"' } }, 409, 'conflict'],
        // Routes and projects.
        ['unknown route under /v1', 'GET', `${P}/spaceships`, {}, 404, 'not_found'],
        ['unknown route', 'GET', '/v2/hosts', {}, 404, 'not_found'],
        ['unknown method', 'PUT', RID, { body: { name: 'x' } }, 404, 'not_found'],
        ['status route of a declarative kind', 'PATCH', `${RID}/status`, { body: {}, token: h.manager }, 404, 'not_found'],
        ['unknown project', 'GET', '/v1/projects/nowhere/regions', {}, 404, 'not_found'],
        ['project name not a name', 'GET', '/v1/projects/No%20Where/regions', {}, 404, 'not_found'],
        ['create a project with a bad name', 'POST', '/v1/projects', { body: { name: 'Not OK' } }, 400, 'invalid_argument'],
        ['create a project with extra fields', 'POST', '/v1/projects', { body: { name: 'ok', owner: 'me' } }, 400, 'invalid_argument'],
        ['create an existing project', 'POST', '/v1/projects', { body: { name: 'default' } }, 409, 'conflict'],
        ['delete a project that is not empty', 'DELETE', '/v1/projects/default', {}, 409, 'failed_precondition'],
        // Tokens and roles.
        ['no token', 'GET', R, { token: null }, 401, 'unauthenticated'],
        ['no token on an unknown route', 'GET', `${P}/spaceships`, { token: null }, 401, 'unauthenticated'],
        ['garbage token', 'GET', R, { token: 'not.a.jwt' }, 401, 'unauthenticated'],
        ['Basic auth', 'GET', R, { token: null, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }, 401, 'unauthenticated'],
        ['Bearer without a token', 'GET', R, { token: null, headers: { authorization: 'Bearer ' } }, 401, 'unauthenticated'],
        ['expired token', 'GET', R, { token: expired }, 401, 'unauthenticated'],
        ['token of another server', 'GET', R, { token: foreign }, 401, 'unauthenticated'],
        ['token with a flipped signature', 'GET', R, { token: `${h.admin.slice(0, -2)}${h.admin.endsWith('AA') ? 'BB' : 'AA'}` }, 401, 'unauthenticated'],
        ['agent token', 'GET', R, { token: agent }, 403, 'permission_denied'],
        ['agent token writes', 'POST', R, { token: agent, body: { name: 'x', spec: {} } }, 403, 'permission_denied'],
        ['enrollment token', 'GET', R, { token: enrollment }, 403, 'permission_denied'],
        ['viewer creates', 'POST', R, { token: viewer, body: { name: 'x', spec: {} } }, 403, 'permission_denied'],
        ['viewer deletes', 'DELETE', RID, { token: viewer }, 403, 'permission_denied'],
        ['viewer creates a project', 'POST', '/v1/projects', { token: viewer, body: { name: 'mine' } }, 403, 'permission_denied'],
        ['viewer lists all projects', 'GET', '/v1/regions', { token: viewer }, 403, 'permission_denied'],
        ['admin creates a discovered kind', 'POST', `${P}/host-nics`, { body: { name: 'eth0', status: { hostId: host.id, deviceName: 'eth0' } } }, 403, 'permission_denied'],
        ['manager creates a device with spec', 'POST', `${P}/host-nics`, { token: h.manager, body: { name: 'eth0', spec: {} } }, 400, 'invalid_argument'],
      ];
      const failures: string[] = [];
      for (const [name, method, url, options, status, code] of cases) {
        const r = await h.call(method, url, options);
        try {
          assertError(r, status, code, name);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`);
      assert.equal((await h.call('GET', RID)).body.revision, region.revision, 'no refused request changed the region');
    });

    await t.test('property: random bodies and query strings never give a 5xx', async (st) => {
      const paths = KINDS.map((k) => k.path);
      const junkValue = fc.oneof(fc.string(), fc.constantFrom('', '0', '-1', '1e3', '20', 'name', 'name desc', 'hosts', 'true', '"', "'", '(', '*', '%', 'region-0a1b2c3d'));
      const body = fc.oneof(
        fc.jsonValue(),
        fc.record({ name: fc.oneof(fc.string(), fc.jsonValue()), labels: fc.jsonValue(), spec: fc.jsonValue(), status: fc.jsonValue() }, { requiredKeys: [] }),
        fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), labels: fc.dictionary(fc.string(), fc.string()), spec: fc.dictionary(fc.string(), fc.jsonValue()) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.oneof(body.map((b) => JSON.stringify(b) ?? 'null'), fc.string()), async (path, payload) => {
          const r = await h.call('POST', `${P}/${path}`, { raw: payload });
          assert.ok(r.status < 500, `POST ${path} ${payload.slice(0, 200)} → ${r.status} ${r.raw.slice(0, 200)}`);
          if (r.status >= 400) assertError(r, r.status, r.body?.error?.code, `POST ${path}`);
        }),
        { numRuns: 150 },
      );
      const key = fc.constantFrom('filter', 'orderBy', 'pageSize', 'pageToken', 'since', 'limit', 'kinds', 'id', 'force', 'other');
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...paths.map((p) => `${P}/${p}`), '/v1/hosts', `${P}/events`, '/v1/events'),
          fc.array(fc.tuple(key, junkValue), { maxLength: 5 }),
          fc.stringMatching(/^[!-~]{0,12}$/).filter((s) => !s.includes('#')),
          async (url, pairs, tail) => {
            const qs = new URLSearchParams(pairs).toString();
            const full = `${url}?${qs}${qs && tail ? '&' : ''}${tail}`;
            const r = await h.call('GET', full, { token: h.manager });
            assert.ok(r.status < 500, `GET ${full} → ${r.status} ${r.raw.slice(0, 200)}`);
            if (r.status >= 400) assertError(r, r.status, r.body?.error?.code, `GET ${full}`);
          },
        ),
        { numRuns: 300 },
      );
      // Well-formed filters and orderings over every field type reach the SQL: a type mismatch matches nothing or is a 400.
      const field = fc.constantFrom('name', 'id', 'kind', 'revision', 'generation', 'createdAt', 'labels.line', 'labels."a.b/c"', 'spec.latitude', 'spec.desiredState', 'spec.regionId', 'status.hostStatus.indicator', 'status.hardware.cpuCores', 'status.lastSeenAt');
      const value = fc.oneof(
        fc.constantFrom('1', '-1', '1.5', '1e308', '9007199254740993', 'true', 'false', 'null', '"*"', '"a*b"', 'x', '*', '""', "'q'", '2026-01-01T00:00:00Z', 'host-0a1b2c3d', '"%"', '"_"', '"\\\\"'),
        fc.string({ maxLength: 8 }).map((v) => JSON.stringify(v)),
      );
      const atom = fc.tuple(field, fc.constantFrom('=', '!=', '<', '>', '<=', '>=', ':'), value).map(([f, o, v]) => `${f} ${o} ${v}`);
      const { expr } = fc.letrec((tie) => ({
        expr: fc.oneof(
          { depthSize: 'small' },
          atom,
          fc.tuple(tie('expr'), fc.constantFrom('AND', 'OR', ''), tie('expr')).map(([a, o, b]) => `${a} ${o} ${b}`),
          tie('expr').map((e) => `NOT (${e})`),
        ),
      }));
      const orderBy = fc.array(fc.tuple(field, fc.constantFrom('', ' asc', ' desc')).map(([f, d]) => f + d), { minLength: 1, maxLength: 3 }).map((a) => a.join(', '));
      const answered = { 200: 0, 400: 0 };
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('hosts', 'sites', 'regions'), expr as fc.Arbitrary<string>, fc.option(orderBy), async (path, filter, order) => {
          const qs = new URLSearchParams({ filter, ...(order ? { orderBy: order } : {}) });
          const r = await h.call('GET', `/v1/${path}?${qs}`, { token: h.manager });
          assert.ok(r.status === 200 || r.status === 400, `GET /v1/${path}?${qs} → ${r.status} ${r.raw.slice(0, 300)}`);
          answered[r.status as 200 | 400]++;
          if (r.status === 400) assertError(r, 400, 'invalid_argument', filter);
          else assert.ok(r.body.totalSize >= r.body.items.length);
        }),
        { numRuns: 300 },
      );
      st.diagnostic(`generated filters: ${answered[200]} answered 200, ${answered[400]} answered 400`);
      assert.ok(answered[200] > 50, 'most generated filters are valid, so the SQL side is exercised');
    });
  });
}

test('both stores sort a missing field the same way', (t) => {
  if (nullOrder.size < DIALECTS.length) return t.skip('needs both stores');
  assert.deepEqual(nullOrder.get('postgres'), nullOrder.get('sqlite'));
});

test('OpenAPI, health, readiness and metrics', async (t) => {
  const h = await withHarness(t, 'sqlite');
  if (!h) return;
  await h.call('POST', `${P}/regions`, { body: { name: 'metrics', spec: {} } });

  const o = await h.call('GET', '/openapi.json', { token: null });
  assert.equal(o.status, 200);
  assert.match(o.body.openapi, /^3\.1\./);
  assert.equal(typeof o.body.info?.title, 'string');
  const paths = Object.keys(o.body.paths);
  for (const def of KINDS) {
    for (const p of [`/v1/projects/{project}/${def.path}`, `/v1/projects/{project}/${def.path}/{id}`, `/v1/${def.path}`]) {
      assert.ok(paths.includes(p), `OpenAPI lacks ${p}`);
    }
    const item = o.body.paths[`/v1/projects/{project}/${def.path}/{id}`];
    assert.ok(item.get && item.patch && item.delete, `${def.kind}: get, patch, delete`);
    assert.ok(o.body.paths[`/v1/projects/{project}/${def.path}`].post, `${def.kind}: post`);
    assert.equal(Boolean(o.body.paths[`/v1/projects/{project}/${def.path}/{id}/status`]?.patch), Boolean(def.status), `${def.kind}: status route iff it has status`);
  }
  for (const p of ['/v1/projects', '/v1/projects/{project}/watch', '/v1/projects/{project}/events', '/v1/watch', '/v1/events']) assert.ok(paths.includes(p), `OpenAPI lacks ${p}`);

  const health = await h.call('GET', '/healthz', { token: null });
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: 'ok' });
  const ready = await h.call('GET', '/readyz', { token: null });
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  assert.equal(ready.body.revision, await h.svc.store.currentRevision());

  assert.equal((await h.call('GET', '/metrics', { token: null })).status, 401, '/metrics wants a token (unless --metrics-public)');
  const m = await h.call('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain/);
  for (const name of ['eim_http_request_duration_seconds', 'eim_writes_total', 'eim_events_total', 'eim_open_watches']) {
    assert.match(m.raw, new RegExp(`^# TYPE ${name} `, 'm'), `metrics lack ${name}`);
  }
  assert.match(m.raw, /^eim_writes_total [1-9]/m, 'the write above is counted');
  assert.match(m.raw, /^eim_events_total [1-9]/m);
  assert.match(m.raw, /^eim_open_watches 0$/m);
  assert.match(m.raw, /eim_http_request_duration_seconds_count\{[^}]*route="\/v1\/projects\/:project\/regions"[^}]*\} [1-9]/);
});
