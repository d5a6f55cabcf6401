import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { DialectAdapter } from '../dialect-adapter.ts';
import { KyselyStore, type KyselyStoreOptions } from '../kysely-store.ts';
import { migrateToLatest } from '../migrations.ts';
import { Checkpointer } from './checkpointer.ts';
import { registerSqliteFunctions } from './sqlite-functions.ts';
import { WalSync, WalSyncDialect } from './wal-sync.ts';
import type { Database } from '../schema.ts';

export interface SqliteStoreOptions extends KyselyStoreOptions {
  /**
   * SQLite's `synchronous` setting in WAL mode. `full`: every acknowledged commit is fsynced and
   * survives power loss (group commit's fsync runs in the thread pool, see WalSync). `normal`: commits survive a process crash, and the last ones may be lost
   * on power loss.
   * @default 'full'
   */
  synchronous?: 'full' | 'normal';
  /** WAL pages before an automatic checkpoint (on the event loop). @default 10000 */
  walAutocheckpointPages?: number;
  /**
   * Checkpoint from a thread of its own every 200 ms when the WAL changed (see Checkpointer), so
   * that the automatic checkpoint finds little left to copy. @default true (not for `:memory:`)
   */
  checkpointThread?: boolean;
}

const sqliteAdapter: DialectAdapter = {
  name: 'sqlite',
  async lockRevision(trx, committed) {
    // One connection in one process: the transaction itself is the lock, and after the first
    // commit this process knows the revision, so the read is needed once.
    if (committed !== undefined) return committed;
    const meta = await trx.selectFrom('eim_meta').select('revision').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(meta.revision);
  },
  async finishBatch(trx, events, lastRevision) {
    for (let i = 0; i < events.length; i += 500) await trx.insertInto('eim_events').values(events.slice(i, i + 500)).execute();
    await trx.updateTable('eim_meta').set({ revision: lastRevision }).where('id', '=', 1).execute();
  },
  parseJson: (v) => JSON.parse(v as string),
  snapshot: (db, fn) => db.transaction().execute(fn),
  async listen() {
    return async () => {};
  },
};

/**
 * Kysely prepares every query anew; preparing costs more than running a small statement. The hot
 * queries repeat the same SQL text (values are parameters), so keep their statements.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        if (cache.size >= max) cache.clear();
        stmt = sqlite.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

/**
 * Opens (creating when missing) the embedded store: one SQLite file in WAL mode.
 * @example const store = await openSqliteStore('.eim/eim.db')
 */
export async function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Promise<KyselyStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  registerSqliteFunctions(sqlite);
  sqlite.pragma('journal_mode = WAL');
  // 'full' without an fsync on the event loop: NORMAL, and each commit waits for an fdatasync of
  // the WAL in the thread pool before it is acknowledged (WalSync). In memory there is no file.
  const wal = options.synchronous !== 'normal' && file !== ':memory:' ? new WalSync(`${file}-wal`) : undefined;
  sqlite.pragma(`synchronous = ${options.synchronous === 'normal' || wal ? 'NORMAL' : 'FULL'}`);
  sqlite.pragma('busy_timeout = 5000');
  // Checkpoints copy the WAL into the database file synchronously, on the event loop; each write
  // touches several b-tree pages, so the default (1000 pages) checkpoints every ~100 writes.
  // 10,000 pages (~40 MB of WAL) makes them rarer and lets repeated pages be copied once. The
  // checkpoint thread does the copying meanwhile: what is left for this one is the last few pages.
  sqlite.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages ?? 10_000}`);
  const config = { database: withStatementCache(sqlite) };
  const db = new Kysely<Database>({ dialect: wal ? new WalSyncDialect(config, sqlite, wal) : new SqliteDialect(config) });
  await migrateToLatest(db, 'sqlite');
  const checkpointer = file !== ':memory:' && options.checkpointThread !== false ? Checkpointer.start(file, { onError: (m) => process.stderr.write(`store: ${m}\n`) }) : undefined;
  const adapter: DialectAdapter = { ...sqliteAdapter, ...(wal ? { durability: wal } : {}), ...(checkpointer ? { close: () => checkpointer.stop() } : {}) };
  const store = new KyselyStore(db, adapter, options);
  await store.start();
  return store;
}
