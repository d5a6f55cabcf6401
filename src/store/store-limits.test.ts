import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { parseFilter } from '../api/filter.ts';
import { type ErrorCode, isEimError, type Resource } from '../api/index.ts';
import { DIALECTS, type Dialect, openTestStore, PG_URL, pgReachable } from '../testing/test-stores.ts';
import type { KyselyStore, KyselyStoreOptions } from './kysely-store.ts';

// The store's own guards, below the Inventory: whatever a caller hands it, both dialects refuse
// the same things the same way, before anything is written.

async function withStore(t: TestContext, dialect: Dialect, options: KyselyStoreOptions, body: (store: KyselyStore) => Promise<void>): Promise<void> {
  if (dialect === 'postgres' && !(await pgReachable())) return void t.skip(`PostgreSQL not reachable at ${PG_URL}: these PostgreSQL checks did NOT run`);
  const ts = await openTestStore(dialect, options);
  try {
    await ts.store.ensureProject('p');
    await body(ts.store);
  } finally {
    await ts.cleanup();
  }
}

let n = 0;
const draft = (spec: Record<string, unknown>, labels: Record<string, string> = {}): Omit<Resource, 'revision' | 'createdAt' | 'updatedAt'> => ({
  kind: 'CustomConfig', id: `customconfig-${(++n).toString(16).padStart(8, '0')}`, project: 'p', name: `c${n}`, labels, generation: 1, spec, status: {},
});
const insert = (store: KyselyStore, d: ReturnType<typeof draft>) => store.write(async (tx) => (await tx.insertIfFree(d, 'test')).resource!);

/** A resource's size as a list page's budget counts it: name, labels, spec and status as JSON (UTF-8). */
const bytesOf = (r: Resource) => Buffer.byteLength(r.name) + Buffer.byteLength(JSON.stringify(r.labels)) + Buffer.byteLength(JSON.stringify(r.spec)) + Buffer.byteLength(JSON.stringify(r.status));
const sum = (rs: Resource[]) => rs.reduce((n, r) => n + bytesOf(r), 0);

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isEimError(e), `expected an EimError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

for (const dialect of DIALECTS) {
  test(`${dialect}: the store refuses NUL and unpaired surrogates in labels, spec and status with invalid_argument; the batch's other writes commit`, (t) =>
    withStore(t, dialect, {}, async (store) => {
      const before = await store.currentRevision();
      const bad = [
        draft({ config: 'a\u0000b' }),
        draft({ config: 'x\ud800' }),
        draft({ free: { ['k\u0000']: 1 } }),
        draft({ config: 'ok' }, { a: 'lone \udc00' }),
      ];
      const good = draft({ config: 'ok \ud83d\ude00 \\u0000 as text' });
      const results = await Promise.allSettled([...bad.map((d) => insert(store, d)), insert(store, good)]);
      for (const r of results.slice(0, bad.length)) {
        assert.equal(r.status, 'rejected');
        await rejectsWith(Promise.reject((r as PromiseRejectedResult).reason), 'invalid_argument', /NUL character|unpaired UTF-16 surrogate/);
      }
      assert.equal(results.at(-1)!.status, 'fulfilled', String((results.at(-1) as PromiseRejectedResult).reason));
      assert.equal(await store.currentRevision(), before + 1, 'only the good write took a revision');
      assert.equal((await store.get(good.id))!.spec.config, good.spec.config);
      for (const d of bad) assert.equal(await store.get(d.id), undefined);

      const stored = (await store.get(good.id))!;
      await rejectsWith(store.write((tx) => tx.update({ ...stored, status: { note: 'nul \u0000' } }, 'test', false)), 'invalid_argument', /status holds a NUL/);
      assert.equal(await store.currentRevision(), before + 1);
    }));

  test(`${dialect}: a resource over maxResourceBytes is payload_too_large on insert and update; at the limit it is stored`, (t) =>
    withStore(t, dialect, { maxResourceBytes: 4096 }, async (store) => {
      const before = await store.currentRevision();
      await rejectsWith(insert(store, draft({ config: 'x'.repeat(5000) })), 'payload_too_large', /at most 4096/);
      // Counted in UTF-8 bytes: 1,500 three-byte characters are 4,500 bytes.
      await rejectsWith(insert(store, draft({ config: '€'.repeat(1500) })), 'payload_too_large', /at most 4096/);
      const d = draft({ config: '' });
      const overhead = Buffer.byteLength(d.name) + Buffer.byteLength(JSON.stringify(d.spec)) + Buffer.byteLength('{}') * 2;
      const fits = await insert(store, { ...d, spec: { config: 'y'.repeat(4096 - overhead) } });
      assert.equal(fits.revision, before + 1);
      await rejectsWith(store.write((tx) => tx.update({ ...fits, labels: { a: 'b' } }, 'test', false)), 'payload_too_large', /would take 4103 bytes/);
      await rejectsWith(store.write((tx) => tx.update({ ...fits, status: { big: 'z'.repeat(100) } }, 'test', false)), 'payload_too_large', /at most 4096/);
      assert.equal(await store.currentRevision(), before + 1, 'refusals take no revision');
    }));

  test(`${dialect}: readEventPage stops at maxBytes (always one event) and says whether more follow`, (t) =>
    withStore(t, dialect, {}, async (store) => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await insert(store, draft({ config: String(i).repeat(10_000) }))).id);
      const all = await store.readEvents({ after: 0, limit: 1000 });
      assert.equal(all.length, 12);
      const size = Buffer.byteLength(all[0].json);
      assert.ok(size > 10_000);

      const page = await store.readEventPage({ after: 0, limit: 1000, maxBytes: size * 3 + 10 });
      assert.deepEqual(page.events.map((e) => e.revision), [1, 2, 3]);
      assert.equal(page.more, true);
      assert.deepEqual(page.events, all.slice(0, 3));
      const tiny = await store.readEventPage({ after: 3, limit: 1000, maxBytes: 1 });
      assert.deepEqual(tiny.events.map((e) => e.revision), [4], 'one event even when it alone is over the budget');
      assert.equal(tiny.more, true);

      // Paging by bytes reaches every event once, in order; the last page says it is the end.
      const seen: number[] = [];
      let after = 0;
      for (;;) {
        const p = await store.readEventPage({ after, limit: 5, maxBytes: size * 2 + 10 });
        assert.ok(p.events.length >= 1 && p.events.length <= 2);
        seen.push(...p.events.map((e) => e.revision));
        after = p.events.at(-1)!.revision;
        if (!p.more) break;
      }
      assert.deepEqual(seen, all.map((e) => e.revision));
      const end = await store.readEventPage({ after, limit: 5, maxBytes: 1 });
      assert.deepEqual(end, { events: [], more: false });
      const filtered = await store.readEventPage({ after: 0, limit: 1000, id: ids[7], maxBytes: 1 });
      assert.deepEqual(filtered.events.map((e) => e.id), [ids[7]]);
    }));

  test(`${dialect}: list stops at maxBytes (always one item), counts the total, and paging by bytes reaches every resource once, in order`, (t) =>
    withStore(t, dialect, {}, async (store) => {
      // Half of them compress to a few kB (PostgreSQL stores them so): the budget counts JSON, not what is on disk.
      const made: Resource[] = [];
      for (let i = 0; i < 40; i++) made.push(await insert(store, draft({ config: i % 2 === 0 ? 'x'.repeat(200_000 + i) : randomBytes(100_000).toString('hex') }, { n: String(i) })));
      const byName = [...made].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const q = { project: 'p', kind: 'CustomConfig', orderBy: [{ field: ['name'], desc: false }], offset: 0, limit: 1000 };
      const budget = 1024 * 1024;

      const first = await store.list({ ...q, maxBytes: budget });
      const n = first.items.length;
      assert.ok(n >= 1 && n < 40, `${n} items in a page of 1 MiB`);
      assert.deepEqual(first.items, byName.slice(0, n));
      assert.ok(sum(first.items) <= budget, `${sum(first.items)} bytes`);
      assert.ok(sum(byName.slice(0, n + 1)) > budget, 'as many as fit');
      assert.equal(first.totalSize, 40, 'a cut first page still counts them all');
      assert.equal(first.more, true);

      const tiny = await store.list({ ...q, maxBytes: 1 });
      assert.deepEqual(tiny.items, byName.slice(0, 1), 'one item even when it alone is over the budget');
      assert.equal(tiny.totalSize, 40);
      assert.equal(tiny.more, true);

      const unasked = await store.list(q);
      assert.ok(unasked.items.length >= 1 && unasked.items.length < 40 && sum(unasked.items) <= 4 * 1024 * 1024, `${unasked.items.length} items (${sum(unasked.items)} bytes) without maxBytes: 4 MiB by default`);

      // By keyset (name order), by offset (another order), and with a filter: each once, in order.
      const newestFirst = [...made].reverse();
      const ways = [
        { what: 'after', query: q, want: byName },
        { what: 'offset', query: { ...q, orderBy: [{ field: ['createdAt'], desc: true }] }, want: newestFirst },
        { what: 'filter', query: { ...q, filter: parseFilter('labels.n != "3"') }, want: byName.filter((r) => r.labels.n !== '3') },
      ];
      for (const { what, query, want } of ways) {
        const seen: Resource[] = [];
        let total: number | undefined;
        for (let pages = 0; ; pages++) {
          assert.ok(pages < 40, `${what}: paging ends`);
          const last = seen.at(-1);
          const page = await store.list({
            ...query, maxBytes: budget, offset: what === 'after' ? 0 : seen.length, ...(what === 'after' && last ? { after: { name: last.name, id: last.id } } : {}), ...(total !== undefined ? { knownTotal: total } : {}),
          });
          assert.ok(page.items.length >= 1 && (page.items.length === 1 || sum(page.items) <= budget), `${what}: ${page.items.length} items, ${sum(page.items)} bytes`);
          if (pages === 0) assert.equal(page.totalSize, want.length, `${what}: the total`);
          total = page.totalSize;
          seen.push(...page.items);
          if (!page.more) break;
        }
        assert.deepEqual(seen.map((r) => r.id), want.map((r) => r.id), `${what}: every resource once, in order`);
        assert.deepEqual(seen, want);
      }
    }));
}

/** How many of 6 resources of about 100 kB fit in a list page of 3 × 256 KiB when none has a stored size (an older server wrote them). */
const FIT_WITHOUT_STORED_SIZE: Record<Dialect, number> = {
  sqlite: 6, // SQLite measures the text itself and never reads size_bytes
  postgres: 3, // each counts as maxResourceBytes
};

for (const dialect of DIALECTS) {
  test(`${dialect}: migration 0017 on a store with resources: PostgreSQL measures them; a row without a stored size counts as the largest a resource may be`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}: these PostgreSQL checks did NOT run`);
    const ts = await openTestStore(dialect);
    t.after(() => ts.cleanup());
    await ts.store.ensureProject('p');
    const made: Resource[] = [];
    for (let i = 0; i < 6; i++) made.push(await insert(ts.store, draft({ config: `${i}`.repeat(100_000), n: i, text: 'é ✓' }, { k: 'v' })));
    // The store as the previous version left it: no column, migration 0017 not run.
    await sql`alter table eim_resources drop column size_bytes`.execute(ts.store.db);
    await sql`delete from eim_migrations where name = '0017_resource_size'`.execute(ts.store.db);
    await ts.store.close();
    const store = await ts.reopen();
    const sizes = new Map((await sql<{ id: string; size_bytes: number | null }>`select id, size_bytes from eim_resources`.execute(store.db)).rows.map((r) => [r.id, r.size_bytes]));
    for (const r of made) {
      const stored = sizes.get(r.id);
      if (dialect === 'sqlite') assert.equal(stored, null, 'not filled in on SQLite (never read there)');
      else assert.ok(stored !== null && stored !== undefined && stored >= bytesOf(r) && stored <= bytesOf(r) + 64, `${stored} bytes stored for ${bytesOf(r)}`);
    }
    await sql`update eim_resources set size_bytes = null`.execute(store.db);
    const page = await store.list({ project: 'p', kind: 'CustomConfig', offset: 0, limit: 1000, maxBytes: 3 * 256 * 1024 });
    assert.equal(page.items.length, FIT_WITHOUT_STORED_SIZE[dialect]);
    assert.equal(page.totalSize, 6);
    assert.deepEqual(page.items, made.slice(0, page.items.length));
    // A write stores the size again.
    const updated = await store.write((tx) => tx.update({ ...made[0], labels: { k: 'w' } }, 'test', false));
    const [{ size_bytes }] = (await sql<{ size_bytes: number }>`select size_bytes from eim_resources where id = ${made[0].id}`.execute(store.db)).rows;
    assert.equal(size_bytes, bytesOf(updated));
  });
}
