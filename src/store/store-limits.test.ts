import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
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
}
