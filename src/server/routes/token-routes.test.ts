import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { DIALECTS, pgReachable } from '../../testing/test-stores.ts';
import { encodeTokenPageToken } from './token-page-token.ts';

// GET /v1/projects/{p}/tokens answers a page: { items, nextPageToken? }, oldest first. Without
// pageSize it is a page of 1,000, so a client that never pages gets what it always got.

interface Listed {
  id: string;
  createdAt: string;
}

const uuid = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-00000000${n.toString(16).padStart(4, '0')}`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Every page of a project's list at `pageSize`, following nextPageToken to the end. */
async function pagesOf(srv: TestApp, project: string, pageSize: number, token = srv.admin): Promise<Listed[][]> {
  const out: Listed[][] = [];
  for (let pageToken: string | undefined; ; ) {
    const r = await srv.call('GET', `/v1/projects/${project}/tokens?pageSize=${pageSize}${pageToken ? `&pageToken=${pageToken}` : ''}`, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    out.push(r.json.items);
    if (!('nextPageToken' in r.json)) return out;
    assert.equal(r.json.items.length, pageSize, 'only a full page says more follow');
    pageToken = r.json.nextPageToken;
  }
}

for (const dialect of DIALECTS) {
  describe(`GET /v1/projects/{p}/tokens (${dialect})`, () => {
    test('pages through every record once in (createdAt, id) order; the default answer is the whole small list; never another project\'s', async (t) => {
      if (dialect === 'postgres' && !(await pgReachable())) return void t.skip('PostgreSQL not reachable: this test did NOT run');
      const srv = await openTestApp({ dialect, projects: ['acme', 'beta'] });
      try {
        const acmeAdmin = await srv.tokens.issue({ subject: 'acme-admin', grants: [{ project: 'acme', role: 'admin' }] });
        const ids = new Set([acmeAdmin.id]);
        const betaIds = new Set<string>();
        for (let i = 0; i < 9; i++) {
          ids.add((await srv.call('POST', '/v1/projects/acme/tokens', srv.admin, { role: 'viewer' })).json.id);
          if (i < 5) betaIds.add((await srv.call('POST', '/v1/projects/beta/tokens', srv.admin, { role: 'viewer' })).json.id);
        }
        // Older records, three to a createdAt, so the id breaks ties (stored out of order).
        for (const n of [11, 5, 8, 2, 10, 4, 7, 1, 9, 3, 6, 0]) {
          await srv.store.store.auth.insertToken({ id: uuid(n), project: 'acme', subject: `old-${n}`, role: 'editor', autoRegister: false, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(n / 3))).toISOString() });
          ids.add(uuid(n));
        }

        const whole = await srv.call('GET', '/v1/projects/acme/tokens', acmeAdmin.token);
        assert.equal(whole.status, 200);
        assert.deepEqual(Object.keys(whole.json), ['items'], 'no nextPageToken when nothing follows');
        const all = whole.json.items as Listed[];
        assert.deepEqual(new Set(all.map((r) => r.id)), ids);
        const sorted = [...all].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
        assert.deepEqual(all.map((r) => r.id), sorted.map((r) => r.id), 'oldest first, ties by id');
        assert.deepEqual(all.slice(0, 12).map((r) => r.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map(uuid));

        for (const size of [4, 1, 11, 22, 1000]) {
          const pages = await pagesOf(srv, 'acme', size);
          assert.deepEqual(pages.flat(), all, `pages of ${size}: each record once, in order`);
          assert.equal(pages.length, Math.max(1, Math.ceil(all.length / size)), `pages of ${size}`);
        }
        const fromBeta = await pagesOf(srv, 'beta', 2);
        assert.deepEqual(new Set(fromBeta.flat().map((r) => r.id)), betaIds, 'beta lists its own');
        assert.ok(fromBeta.flat().every((r) => !ids.has(r.id)));

        // beta's page token on acme's list: refused, and nothing of either project in the answer.
        const betaPage = await srv.call('GET', '/v1/projects/beta/tokens?pageSize=2', srv.admin);
        const replayed = await srv.call('GET', `/v1/projects/acme/tokens?pageToken=${betaPage.json.nextPageToken}`, srv.admin);
        assert.equal(replayed.status, 400);
        assert.equal(replayed.json.error.code, 'invalid_argument');
        assert.match(replayed.json.error.message, /^pageToken belongs to another project/);
        assert.deepEqual(replayed.json.error.details, { field: 'pageToken' });
        assert.equal(replayed.json.items, undefined);
        // A token forged for acme around beta's key (amid acme's) only positions within acme.
        const beta2 = (betaPage.json.items as Listed[])[1];
        const forged = await srv.call('GET', `/v1/projects/acme/tokens?pageToken=${encodeTokenPageToken('acme', beta2)}`, srv.admin);
        assert.equal(forged.status, 200);
        assert.ok(forged.json.items.length > 0 && forged.json.items.every((r: Listed) => ids.has(r.id)), 'only acme records');
        assert.deepEqual(forged.json.items, all.filter((r) => r.createdAt > beta2.createdAt || (r.createdAt === beta2.createdAt && r.id > beta2.id)));
      } finally {
        await srv.close();
      }
    });

    test('a malformed or tampered pageToken, or a pageSize outside 1..1000, is 400 invalid_argument; only admins list, as before', async (t) => {
      if (dialect === 'postgres' && !(await pgReachable())) return void t.skip('PostgreSQL not reachable: this test did NOT run');
      const srv = await openTestApp({ dialect, projects: ['acme', 'beta'] });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await srv.call('POST', '/v1/projects/acme/tokens', srv.admin, { role: 'viewer' })).status, 201);
        const first = await srv.call('GET', '/v1/projects/acme/tokens?pageSize=1', srv.admin);
        const valid = JSON.parse(Buffer.from(first.json.nextPageToken, 'base64url').toString('utf8'));
        const badTokens = [
          'not-a-token!',
          'A'.repeat(600),
          b64({}),
          b64([1, 2]),
          b64(null),
          b64({ ...valid, i: "x' or 1=1 --" }),
          b64({ ...valid, i: valid.i.toUpperCase() }),
          b64({ ...valid, c: 'yesterday' }),
          b64({ ...valid, c: `${valid.c}\u0000` }),
          b64({ ...valid, p: 42 }),
        ];
        for (const bad of badTokens) {
          const r = await srv.call('GET', `/v1/projects/acme/tokens?pageToken=${bad}`, srv.admin);
          assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.json)}`);
          assert.equal(r.json.error.code, 'invalid_argument');
          assert.match(r.json.error.message, /^pageToken is not a token this server issued/);
          assert.deepEqual(r.json.error.details, { field: 'pageToken' });
        }
        const twice = await srv.call('GET', `/v1/projects/acme/tokens?pageToken=${first.json.nextPageToken}&pageToken=${first.json.nextPageToken}`, srv.admin);
        assert.equal(twice.status, 400);
        assert.match(twice.json.error.message, /pageToken may be given only once/);
        assert.equal((await srv.call('GET', '/v1/projects/acme/tokens?pageToken=', srv.admin)).json.items.length, 3, 'an empty pageToken is the first page');

        for (const bad of ['0', '-1', '1.5', '1e3', 'abc', '123456789012345678901', '1&pageSize=2']) {
          const r = await srv.call('GET', `/v1/projects/acme/tokens?pageSize=${bad}`, srv.admin);
          assert.equal(r.status, 400, `pageSize=${bad}: ${JSON.stringify(r.json)}`);
          assert.equal(r.json.error.code, 'invalid_argument');
          assert.match(r.json.error.message, /pageSize/);
          assert.deepEqual(r.json.error.details, { field: 'pageSize' });
        }
        // More than the maximum is the maximum, as in the resource lists (AIP-158).
        for (const big of ['1000', '1001', '5000', '99999999999999999999']) {
          const r = await srv.call('GET', `/v1/projects/acme/tokens?pageSize=${big}`, srv.admin);
          assert.equal(r.status, 200, `pageSize=${big}: ${JSON.stringify(r.json)}`);
          assert.equal(r.json.items.length, 3);
          assert.equal(r.json.nextPageToken, undefined);
        }
        const absent = await srv.call('GET', '/v1/projects/no-such-project/tokens', srv.admin);
        assert.equal(absent.status, 404, 'a project that does not exist is not an empty list');
        assert.equal(absent.json.error.code, 'not_found');
        assert.equal((await srv.call('GET', '/v1/projects/*/tokens', srv.admin)).status, 200, "the cluster's tokens (project *) are listed");

        // The role is checked first, as before: a bad page token tells a non-admin nothing more.
        const issue = async (project: string, role: 'viewer' | 'editor' | 'manager' | 'admin') => (await srv.tokens.issue({ subject: `${role}-${project}`, grants: [{ project, role }] })).token;
        for (const query of ['', '?pageSize=1', '?pageToken=garbage', '?pageSize=0']) {
          for (const role of ['viewer', 'editor', 'manager'] as const) {
            const r = await srv.call('GET', `/v1/projects/acme/tokens${query}`, await issue('acme', role));
            assert.equal(r.status, 403, `${role} ${query}`);
            assert.equal(r.json.error.code, 'permission_denied');
          }
          const other = await srv.call('GET', `/v1/projects/acme/tokens${query}`, await issue('beta', 'admin'));
          assert.equal(other.status, 404, `another project's admin ${query}: acme answers as if absent`);
          assert.equal((await srv.call('GET', `/v1/projects/acme/tokens${query}`)).status, 401);
        }
      } finally {
        await srv.close();
      }
    });
  });
}
