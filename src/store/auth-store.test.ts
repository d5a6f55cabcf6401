import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CompiledQuery, createQueryId, type KyselyPlugin, type RootOperationNode, sql } from 'kysely';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import { AuthStore, type TokenKey, type TokenRecord } from './auth-store.ts';
import type { KyselyStore } from './kysely-store.ts';

// A project's token records come a page at a time, in (createdAt, id) order, by keyset: each
// record once, never another project's, and the page seeks through an index on both databases.

async function withStore(t: TestContext, dialect: Dialect, body: (store: KyselyStore) => Promise<void>): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}: these PostgreSQL checks did NOT run`);
  const ts = await openTestStore(dialect);
  try {
    await body(ts.store);
  } finally {
    await ts.cleanup();
  }
}

const uuid = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${((n * 7919) % 0xfff).toString(16).padStart(12, '0')}`;
const at = (second: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, second)).toISOString();

/** `n` records of `project`, three to a createdAt (so the id breaks ties), numbered from `first`. */
const records = (project: string, n: number, first = 0): TokenRecord[] =>
  Array.from({ length: n }, (_, i) => ({ id: uuid(first + i), project, subject: `s-${first + i}`, role: 'viewer', autoRegister: false, createdAt: at(Math.floor(i / 3)) }));

const inListOrder = (rs: TokenRecord[]) => [...rs].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => r.id);

/** Every page of the project's list, following `next` to the end. */
async function pages(auth: AuthStore, project: string, pageSize: number, after?: TokenKey): Promise<string[][]> {
  const out: string[][] = [];
  for (let key = after; ; ) {
    const page = await auth.listTokens(project, { pageSize, after: key });
    out.push(page.items.map((r) => r.id));
    if (!page.next) return out;
    assert.deepEqual(page.next, { createdAt: page.items.at(-1)!.createdAt, id: page.items.at(-1)!.id });
    key = page.next;
  }
}

for (const dialect of DIALECTS) {
  test(`${dialect}: listTokens pages a project's records in (createdAt, id) order, each once, and only that project's`, (t) =>
    withStore(t, dialect, async (store) => {
      const acme = records('acme', 24);
      const beta = records('beta', 10, 100); // the same createdAts as acme's first ten
      // Stored out of list order, so the order can only come from the query.
      for (const r of [...acme, ...beta].reverse()) await store.auth.insertToken(r);
      const expected = inListOrder(acme);

      for (const size of [4, 5, 1, 24]) {
        const got = await pages(store.auth, 'acme', size);
        assert.deepEqual(got.flat(), expected, `pages of ${size}`);
        assert.ok(got.every((p, i) => p.length === (i < got.length - 1 ? size : expected.length - size * (got.length - 1))), `pages of ${size}: full pages, then the rest`);
        assert.equal(got.length, Math.ceil(expected.length / size), `pages of ${size}: a last page ending at the end has no next`);
      }
      const all = await store.auth.listTokens('acme');
      assert.deepEqual(all.items.map((r) => r.id), expected, 'the default page holds a small list whole');
      assert.equal(all.next, undefined);
      assert.deepEqual(all.items[0], acme.find((r) => r.id === expected[0]), 'the records as stored');

      // A key taken from another project only positions: the project stays the one asked for.
      const betaKey = { createdAt: beta[4].createdAt, id: beta[4].id };
      const fromBeta = (await pages(store.auth, 'acme', 4, betaKey)).flat();
      assert.ok(fromBeta.length > 0 && fromBeta.every((id) => acme.some((r) => r.id === id)), 'only acme records');
      assert.deepEqual(fromBeta, expected.filter((id) => { const r = acme.find((x) => x.id === id)!; return r.createdAt > betaKey.createdAt || (r.createdAt === betaKey.createdAt && r.id > betaKey.id); }));
      assert.deepEqual((await store.auth.listTokens('gamma')).items, []);

      // Values reach the query as parameters: a hostile key is a key like any other.
      const hostile = await store.auth.listTokens('acme', { after: { createdAt: "' or 1=1 --", id: "x'); drop table eim_tokens; --" } });
      assert.deepEqual(hostile.items.map((r) => r.id), expected, "every ISO time sorts after a quote");
      for (const bad of [0, 1001, 1.5, Number.NaN]) await assert.rejects(store.auth.listTokens('acme', { pageSize: bad }), RangeError);
    }));

  test(`${dialect}: revoke({ hostGone }) revokes the tokens bound to a host that is not a Host of their project, and only those`, (t) =>
    withStore(t, dialect, async (store) => {
      for (const p of ['acme', 'beta']) await store.ensureProject(p);
      const here = 'host-0000aaaa';
      await store.write((tx) => tx.insertIfFree({ kind: 'Host', id: here, project: 'acme', name: 'here', labels: {}, generation: 1, spec: {}, status: {} }, 'test'));
      const bound = (n: number, project: string, hostId?: string): TokenRecord => ({ ...records(project, 1, n)[0], role: hostId ? 'agent' : 'viewer', ...(hostId ? { hostId } : {}) });
      const kept = [bound(1, 'acme', here), bound(2, 'acme')];
      const gone = [bound(3, 'acme', 'host-0000bbbb'), bound(4, 'beta', here)]; // a deleted host; a host of another project
      for (const r of [...kept, ...gone]) await store.auth.insertToken(r);
      assert.deepEqual((await store.auth.revoke({ hostGone: true }, at(59))).sort(), gone.map((r) => r.id).sort());
      assert.deepEqual(await store.auth.revoke({ hostGone: true }, at(59)), [], 'nothing twice');
      for (const r of kept) assert.equal((await store.auth.getToken(r.id))?.revokedAt, undefined);
    }));

  test(`${dialect}: a page of tokens seeks through eim_tokens_order (migration 0015) instead of sorting the project's records`, (t) =>
    withStore(t, dialect, async (store) => {
      const rows = Array.from({ length: 6000 }, (_, i) => ({
        id: uuid(i),
        project: `p${i % 6}`,
        subject: 's',
        role: 'viewer',
        host_id: null,
        auto_register: 0,
        created_at: at(i),
        expires_at: null,
        revoked_at: null,
      }));
      for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('eim_tokens').values(rows.slice(i, i + 500)).execute();
      await sql`analyze eim_tokens`.execute(store.db);
      // The statement listTokens sends, captured on its way to the database, then explained.
      const sent: RootOperationNode[] = [];
      const spy: KyselyPlugin = { transformQuery: ({ node }) => (sent.push(node), node), transformResult: async ({ result }) => result };
      const page = await new AuthStore(store.db.withPlugin(spy), dialect).listTokens('p3', { pageSize: 50, after: { createdAt: at(3000), id: uuid(3000) } });
      assert.equal(page.items.length, 50);
      assert.equal(page.items[0].id, uuid(3003));
      const q = store.db.getExecutor().compileQuery(sent[0], createQueryId());
      const explain = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
      const plan = (await store.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(explain + q.sql, [...q.parameters]))).rows.map((r) => String(r.detail ?? r['QUERY PLAN'])).join('\n');
      assert.match(plan, /eim_tokens_order/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE|Sort/, plan);
    }));
}
