import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type SQLite from 'better-sqlite3';
import { type CompiledQuery, type DatabaseConnection, type Driver, type QueryCompiler, type QueryResult, SqliteDialect, type SqliteDialectConfig, type TransactionSettings } from 'kysely';

/**
 * Durable commits without an fsync on the event loop for group commit. SQLite's `synchronous =
 * FULL` fsyncs the WAL inside COMMIT, on the calling thread: 1–2 ms of a busy server's only thread
 * per commit. Here the connection runs with `synchronous = NORMAL` (a commit writes its WAL frames
 * and returns), and then:
 *
 * - group commit's transactions (`defer()`) wait for an fdatasync of the WAL in libuv's thread pool
 *   (`sync()`) before their writers are answered and their events go out, while the event loop
 *   serves other requests and the next batch gathers (it commits after the sync: the store's commit
 *   resolves only then, and GroupCommit takes the next batch when it has);
 * - every other transaction that wrote, and every write outside a transaction (token revocations,
 *   leases, telemetry), syncs before it returns, on the calling thread (`syncNow()`), exactly as
 *   FULL did: what such a write changes (a revoked token) holds before anything else runs.
 *
 * What differs from FULL for group commit: a read by another request can see a commit during the
 * few milliseconds before its sync ends (its writer has not been answered yet, and no event has gone
 * out for it).
 *
 * A failed sync is final, as in PostgreSQL: the kernel may have dropped the pages it could not
 * write, and a later sync would then succeed without them. Every sync after it fails the same way,
 * so no write is acknowledged again until the server restarts (and SQLite recovers from the WAL).
 */
export class WalSync {
  /** The WAL file, opened at the first sync (SQLite creates it with the first write). */
  private fd: number | undefined;
  private closed = false;
  /** Set inside a transaction whose COMMIT returns without the sync: its caller syncs. */
  private deferred = false;
  /** The fdatasync running, and the one to run after it for the callers that arrived meanwhile. */
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private failed: Error | undefined;
  syncs = 0;

  constructor(private readonly walFile: string) {}

  /** The transaction running now commits without waiting for the sync; its caller calls sync() after. */
  defer(): void {
    this.deferred = true;
  }

  /** Whether the transaction that just ended was deferred (and forgets it). */
  takeDeferred(): boolean {
    const d = this.deferred;
    this.deferred = false;
    return d;
  }

  /**
   * Resolves once everything written to the WAL before the call is on disk. A call during a sync in
   * flight waits for one that starts after it, shared by every caller that arrived meanwhile.
   */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.resolve();
    try {
      if (!this.openFile()) return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.inFlight) return this.start();
    this.queued ??= this.inFlight.then(noop, noop).then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  /** Throws once a sync has failed: no write may start then (it would be seen, and never be durable). */
  assertUsable(): void {
    if (this.failed) throw this.failed;
  }

  /** Syncs on the calling thread (see the class): throws as sync() rejects. */
  syncNow(): void {
    if (this.failed) throw this.failed;
    if (this.closed || !this.openFile()) return;
    this.syncs++;
    try {
      fdatasyncSync(this.fd!);
    } catch (e) {
      throw (this.failed = this.failure(e as Error));
    }
  }

  /** Waits for the syncs handed out, then closes the file (a sync asked for later resolves at once). */
  async close(): Promise<void> {
    await this.queued?.catch(noop);
    await this.inFlight?.catch(noop);
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Whether the WAL file is open (false: there is none yet, nothing was ever written through it). */
  private openFile(): boolean {
    if (this.fd !== undefined) return true;
    try {
      this.fd = openSync(this.walFile, 'r');
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  private failure(e: Error): Error {
    return new Error(`the store's write-ahead log could not be synced to disk (${e.message}); writes since the last sync may be lost on power failure, and none is acknowledged until the server restarts`);
  }

  private start(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const fd = this.fd;
    if (fd === undefined) return Promise.resolve(); // closed meanwhile
    const p = new Promise<void>((resolve, reject) =>
      fdatasync(fd, (e) => {
        if (!e) return resolve();
        reject((this.failed = this.failure(e)));
      }),
    );
    this.inFlight = p;
    this.syncs++;
    const clear = () => {
      if (this.inFlight === p) this.inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}

const noop = () => {};

/**
 * Kysely's SQLite dialect with commits made durable by WalSync: a COMMIT of a transaction that
 * wrote (unless deferred: its owner syncs), or a statement other than a read run outside a
 * transaction, syncs before it returns.
 */
export class WalSyncDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
    private readonly wal: WalSync,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new WalSyncDriver(super.createDriver(), this.sqlite, this.wal);
  }
}

class WalSyncDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  /** The connection's holder wrote in the transaction running now. */
  private wrote = false;

  constructor(
    private readonly inner: Driver,
    private readonly sqlite: SQLite.Database,
    private readonly wal: WalSync,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const c = await this.inner.acquireConnection();
    let w = this.wrapped.get(c);
    if (!w) {
      w = { executeQuery: (q) => this.execute(c, q), streamQuery: (q, chunkSize) => c.streamQuery(q, chunkSize) };
      this.wrapped.set(c, w);
    }
    return w;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Committed already, and then its sync failed: there is nothing to roll back, and SQLite's
    // "no transaction is active" would hide the sync's error.
    if (!this.sqlite.inTransaction) return;
    return this.inner.rollbackTransaction(connection);
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.savepoint!(connection, name, compile);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.rollbackToSavepoint!(connection, name, compile);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.releaseSavepoint!(connection, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }

  async destroy(): Promise<void> {
    await this.wal.close();
    await this.inner.destroy();
  }

  private async execute<R>(c: DatabaseConnection, q: CompiledQuery): Promise<QueryResult<R>> {
    const write = !READ.test(q.sql);
    // After a failed sync nothing new is written (an open transaction may still end).
    if (write && !END.test(q.sql)) this.wal.assertUsable();
    let r: QueryResult<R>;
    try {
      r = await c.executeQuery<R>(q);
    } catch (e) {
      if (!this.sqlite.inTransaction) this.ended();
      throw e;
    }
    if (this.sqlite.inTransaction) {
      if (write && !BEGIN.test(q.sql)) this.wrote = true;
    } else {
      // A transaction ended (commit or rollback), or a statement ran on its own.
      const wrote = this.wrote || (write && !END.test(q.sql));
      const deferred = this.ended();
      if (wrote && !deferred && !ROLLBACK.test(q.sql)) this.wal.syncNow();
    }
    return r;
  }

  /** Forgets the transaction's marks; whether it was deferred. */
  private ended(): boolean {
    this.wrote = false;
    return this.wal.takeDeferred();
  }
}

/** Statements that change nothing: no sync after them. */
const READ = /^\s*(select\b|pragma\s+\w+\s*$)/i;
const BEGIN = /^\s*begin\b/i;
const END = /^\s*(commit|end|rollback)\b/i;
const ROLLBACK = /^\s*rollback\b/i;
