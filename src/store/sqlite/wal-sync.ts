import { closeSync, fdatasync, openSync } from 'node:fs';
import type SQLite from 'better-sqlite3';
import { type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, SqliteDialect, type SqliteDialectConfig, type TransactionSettings } from 'kysely';

/**
 * Durable commits without an fsync on the event loop. SQLite's `synchronous = FULL` fsyncs the WAL
 * inside COMMIT, on the calling thread: 1–2 ms of a busy server's only thread per commit. Here the
 * connection runs with `synchronous = NORMAL` (a commit writes its WAL frames and returns), and
 * every commit (and every write outside a transaction) then waits for an fdatasync of the WAL file
 * in libuv's thread pool before its caller hears of it: the acknowledged write is on disk exactly as
 * with FULL, while the event loop serves other requests meanwhile.
 *
 * What differs from FULL: a read by another request can see a commit during the few milliseconds
 * before its sync ends (its writer has not been answered yet, and no event has gone out for it).
 */
export class WalSync {
  private fd: number | undefined;
  private opened = false;
  /** Set inside a transaction whose COMMIT returns without the sync: its caller syncs. */
  private deferred = false;
  /** The fdatasync running, and the one to run after it for the callers that arrived meanwhile. */
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  syncs = 0;

  constructor(private readonly walFile: string) {}

  /** Syncs from now on (the file is opened at the first one: SQLite creates it with the first write). */
  open(): void {
    this.opened = true;
  }

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

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.opened = false;
  }

  /**
   * Resolves once everything written to the WAL before the call is on disk. A call during a sync in
   * flight waits for one that starts after it, shared by every caller that arrived meanwhile.
   */
  sync(): Promise<void> {
    if (!this.opened) return Promise.resolve();
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.walFile, 'r');
      } catch (e) {
        // No WAL yet: nothing was ever written through it, so nothing waits for a sync.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve();
        return Promise.reject(e);
      }
    }
    if (!this.inFlight) return this.start();
    this.queued ??= this.inFlight.then(noop, noop).then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<void> {
    const fd = this.fd!;
    const p = new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
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
 * Kysely's SQLite dialect with commits made durable by `sync` (see WalSync): a COMMIT, or a
 * statement other than a SELECT run outside a transaction, answers only after it.
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
      const { sqlite, wal } = this;
      w = {
        async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
          let r: QueryResult<R>;
          try {
            r = await c.executeQuery<R>(q);
          } catch (e) {
            if (!sqlite.inTransaction) wal.takeDeferred();
            throw e;
          }
          // Out of a transaction now, after anything but a read: a commit, or a write of its own
          // (unless the transaction's owner syncs after it: group commit, see defer()).
          if (!sqlite.inTransaction && !READ.test(q.sql) && !wal.takeDeferred()) await wal.sync();
          return r;
        },
        streamQuery: <R>(q: CompiledQuery, chunkSize?: number) => c.streamQuery<R>(q, chunkSize),
      };
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

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }

  async destroy(): Promise<void> {
    await this.inner.destroy();
    this.wal.close();
  }
}

/** Statements that change nothing: no sync after them. */
const READ = /^\s*(select|pragma\s+\w+\s*$)/i;
