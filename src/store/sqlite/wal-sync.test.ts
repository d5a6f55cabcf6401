import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import type { Durability } from '../dialect-adapter.ts';
import type { KyselyStore } from '../kysely-store.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { WalSync, WalSyncDialect } from './wal-sync.ts';

function open(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'eim-walsync-'));
  const file = join(dir, 'x.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  const wal = new WalSync(`${file}-wal`);
  const db = new Kysely<{ t: { id: number; v: string } }>({ dialect: new WalSyncDialect({ database: sqlite }, sqlite, wal) });
  t.after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, wal, sqlite };
}

/**
 * Holds the store's group-commit syncs until `release()`: each waits, then runs for real. `syncs`
 * counts the syncs asked for.
 */
function holdSyncs(store: KyselyStore) {
  const durability = (store as unknown as { adapter: { durability: Durability } }).adapter.durability;
  const realSync = durability.sync.bind(durability);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const hold = { syncs: 0, release: () => release() };
  durability.sync = () => (hold.syncs++, held.then(realSync));
  return hold;
}

/** A Region resource row named `name`. */
const region = (name: string) => ({ kind: 'Region', id: `region-${name.padStart(8, '0')}`, project: 'default', name, labels: {}, generation: 1, spec: {}, status: {} });

test('a commit and a write outside a transaction each wait for an fdatasync of the WAL; reads and statements inside a transaction do not', async (t) => {
  const { db, wal } = open(t);
  await sql`create table t (id integer primary key, v text)`.execute(db);
  const base = wal.syncs;
  await db.insertInto('t').values({ id: 1, v: 'a' }).execute();
  assert.equal(wal.syncs, base + 1, 'an autocommit insert');
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
    await trx.updateTable('t').set({ v: 'c' }).where('id', '=', 1).execute();
    assert.equal(wal.syncs, base + 1, 'nothing synced inside the transaction');
  });
  assert.equal(wal.syncs, base + 2, 'one sync for the commit');
  const rows = await db.selectFrom('t').selectAll().orderBy('id').execute();
  assert.deepEqual(rows, [{ id: 1, v: 'c' }, { id: 2, v: 'b' }]);
  assert.equal(wal.syncs, base + 2, 'a read syncs nothing');
  await db.deleteFrom('t').where('id', '=', 2).returning('id').execute();
  assert.equal(wal.syncs, base + 3, 'a write that returns rows is still a write');
});

test('callers arriving while a sync runs share the next one; every caller waits for a sync that began after its call', async (t) => {
  const { db, wal } = open(t);
  await sql`create table t (id integer primary key, v text)`.execute(db);
  const base = wal.syncs;
  const first = wal.sync();
  const during = Array.from({ length: 20 }, () => wal.sync());
  assert.equal(wal.syncs, base + 1, 'the later callers wait for the first to end');
  await Promise.all([first, ...during]);
  assert.equal(wal.syncs, base + 2, 'one more sync covered all 20');
  await wal.sync();
  assert.equal(wal.syncs, base + 3);
});

test('the store on a file: synchronous NORMAL under a durable commit; in memory, or asked for normal, no WAL syncs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'eim-walsync-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [file, synchronous, level] of [[join(dir, 'a.db'), undefined, 1], [join(dir, 'b.db'), 'normal', 1], [':memory:', undefined, 2]] as const) {
    const store = await openSqliteStore(file, synchronous ? { synchronous } : {});
    try {
      const got = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      assert.equal(got.rows[0].synchronous, level, `${file} ${synchronous ?? 'full'}`);
    } finally {
      await store.close();
    }
  }
});

test('a deferred transaction commits without the sync (its owner syncs after); a rollback or a failed commit clears the mark', async (t) => {
  const { db, wal } = open(t);
  await sql`create table t (id integer primary key, v text)`.execute(db);
  const base = wal.syncs;
  await db.transaction().execute(async (trx) => {
    wal.defer();
    await trx.insertInto('t').values({ id: 1, v: 'a' }).execute();
  });
  assert.equal(wal.syncs, base, 'the commit did not wait');
  await wal.sync();
  assert.equal(wal.syncs, base + 1);
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      wal.defer();
      await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  await db.insertInto('t').values({ id: 3, v: 'c' }).execute();
  assert.equal(wal.syncs, base + 2, 'the write after the rollback synced: the mark did not outlive its transaction');
  assert.deepEqual((await db.selectFrom('t').select('id').orderBy('id').execute()).map((r) => r.id), [1, 3]);
});

test('a transaction that only read commits without a sync; one that wrote has synced when it returns', async (t) => {
  const { db, wal } = open(t);
  await sql`create table t (id integer primary key, v text)`.execute(db);
  await db.insertInto('t').values({ id: 1, v: 'a' }).execute();
  const base = wal.syncs;
  const n = await db.transaction().execute(async (trx) => (await trx.selectFrom('t').selectAll().execute()).length);
  assert.equal(n, 1);
  assert.equal(wal.syncs, base, 'a read-only transaction');
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
  });
  assert.equal(wal.syncs, base + 1, 'one sync for the write, before it returned');
});

test('group commit on a file: a write is answered, and its event sent, only after its sync; reads go on meanwhile, and the writes that arrive during it wait for it and commit together', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'eim-walsync-gc-'));
  const store = await openSqliteStore(join(dir, 'g.db'));
  const hold = holdSyncs(store);
  t.after(async () => {
    hold.release(); // a failed assertion must not leave the close waiting for the held sync
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const heard: number[] = [];
  store.onCommit((events) => heard.push(...events.map((e) => e.revision)));
  let answered = 0;
  const first = store.write((tx) => tx.insertIfFree(region('a'), 'test')).then(() => answered++);
  while (hold.syncs === 0) await new Promise((r) => setImmediate(r));
  assert.equal((await store.get('region-0000000a'))?.name, 'a', 'committed and readable while its sync is held');
  // Writes arriving during the sync wait for it: one commit after it takes them all.
  const later = ['b', 'c', 'd', 'e'].map((n) => store.write((tx) => tx.insertIfFree(region(n), 'test')).then(() => answered++));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(await store.get('region-0000000b'), undefined, 'not committed while the sync before it runs');
  assert.deepEqual([hold.syncs, answered, heard], [1, 0, []], 'no answer and no event before the sync');
  hold.release();
  await Promise.all([first, ...later]);
  assert.equal(hold.syncs, 2, 'the four later writes: one commit, one sync');
  assert.equal(answered, 5);
  assert.equal(heard.length, 5);
  assert.deepEqual([...heard].sort((a, b) => a - b), heard, 'events in commit order');
  for (const n of ['b', 'c', 'd', 'e']) assert.equal((await store.get(`region-${n.padStart(8, '0')}`))?.name, n);
});

test('closing the store commits the writes still queued behind a sync first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'eim-walsync-close-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.db');
  // Without the checkpoint thread, whose stop would give the queued writes time to slip in.
  const store = await openSqliteStore(file, { checkpointThread: false });
  const hold = holdSyncs(store);
  const first = store.write((tx) => tx.insertIfFree(region('a'), 'test'));
  while (hold.syncs === 0) await new Promise((r) => setImmediate(r));
  const queued = ['b', 'c'].map((n) => store.write((tx) => tx.insertIfFree(region(n), 'test')));
  const closed = store.close();
  hold.release();
  await Promise.all([first, ...queued, closed]);
  const again = await openSqliteStore(file);
  try {
    for (const n of ['a', 'b', 'c']) assert.equal((await again.get(`region-${n.padStart(8, '0')}`))?.name, n);
  } finally {
    await again.close();
  }
});

test('a failed sync is final: its writer hears why, and no later write starts', async (t) => {
  const { db, wal } = open(t);
  await sql`create table t (id integer primary key, v text)`.execute(db);
  await db.insertInto('t').values({ id: 1, v: 'a' }).execute();
  // The WAL's descriptor goes bad under it (as an I/O error would make the sync fail).
  const fd = (wal as unknown as { fd: number }).fd;
  (wal as unknown as { fd: number }).fd = 1_000_000;
  try {
    // A transaction whose COMMIT went through and whose sync failed: the sync's error, not a rollback's.
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
      }),
      /could not be synced to disk/,
    );
    await assert.rejects(db.insertInto('t').values({ id: 3, v: 'c' }).execute(), /could not be synced to disk/, 'a later write is refused');
    await assert.rejects(db.transaction().execute(async (trx) => void (await trx.insertInto('t').values({ id: 4, v: 'd' }).execute())), /could not be synced/);
    await assert.rejects(wal.sync(), /could not be synced/);
  } finally {
    (wal as unknown as { fd: number }).fd = fd;
  }
  const ids = (await db.selectFrom('t').select('id').orderBy('id').execute()).map((r) => r.id);
  assert.deepEqual(ids, [1, 2], 'the failed one is committed (not known durable); the later ones never started');
});


test('telemetry on a file: a batch commits without an fsync on the event loop and is answered after the WAL sync in the thread pool; the next group waits for it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'eim-walsync-tm-'));
  const store = await openSqliteStore(join(dir, 't.db'));
  const hold = holdSyncs(store);
  t.after(async () => {
    hold.release();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const point = (t: number) => ({ name: 'cpu_used_percent', attrs: {}, type: 'gauge' as const, unit: '%', t, value: 1 });
  const T0 = Date.now() - 60_000;
  let answered = 0;
  const first = store.telemetry.ingest({ project: 'p', hostId: 'host-00000001', batch: { stream: 's', seq: 1 }, points: [point(T0)], logs: [] }).then((r) => (answered++, r));
  for (let i = 0; i < 200 && hold.syncs === 0; i++) await new Promise((r) => setImmediate(r));
  assert.equal(hold.syncs, 1, 'the group commit asked for the sync in the thread pool');
  const second = store.telemetry.ingest({ project: 'p', hostId: 'host-00000001', batch: { stream: 's', seq: 2 }, points: [point(T0 + 1000)], logs: [] }).then((r) => (answered++, r));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual([hold.syncs, answered], [1, 0], 'the first batch waits for its sync, and the second for the first');
  hold.release();
  const [a, b] = await Promise.all([first, second]);
  assert.deepEqual([a.stored, b.stored, hold.syncs], [1, 1, 2]);
});
