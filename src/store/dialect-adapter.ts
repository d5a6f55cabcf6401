import type { Kysely, Transaction } from 'kysely';
import type { Database, EventsTable } from './schema.ts';

export type EventRow = EventsTable;

/** What differs between SQLite and PostgreSQL under the one store implementation. */
export interface DialectAdapter {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Takes the global revision lock for the rest of the transaction and returns the current
   * revision. Held to commit, so revisions become visible in commit order. `committed` is the
   * revision this process last committed, when it knows it (a single-process store may trust it).
   */
  lockRevision(trx: Kysely<Database>, committed: number | undefined): Promise<number>;
  /**
   * Runs a write batch in a transaction of its own instead of `db.transaction()` with
   * `lockRevision` (PostgreSQL): `body` gets the batch's handle and the revision read under the
   * lock, a promise so that it can send its reads before the lock is answered. Statements `body`
   * starts together go out together (pipelined, in the order started) and run one after another
   * in the transaction, after the lock: one round trip where there were several.
   *
   * `commit` sends COMMIT behind the statements started before it, without waiting for their
   * answers; called by a body that has started its last statement (else runBatch commits after it).
   * `epoch` is the managers' leader epoch read under the same lock (see `WriteOptions.fence`).
   */
  runBatch?(body: (trx: Kysely<Database>, revision: Promise<number>, commit: () => Promise<unknown>, epoch: Promise<number>) => Promise<void>): Promise<void>;
  /**
   * The end of a write transaction: append the batch's events, move the global revision, and (on
   * PostgreSQL) NOTIFY other processes, delivered at commit.
   */
  finishBatch(trx: Kysely<Database>, events: EventRow[], lastRevision: number): Promise<void>;
  /** A JSON column's value as read back (SQLite: TEXT to parse; PostgreSQL: already parsed). */
  parseJson(value: unknown): unknown;
  /** Runs reads against one consistent snapshot. */
  snapshot<T>(db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /**
   * Refreshes the planner's statistics of the resource table (PostgreSQL), which the store asks for
   * itself as the table grows: with stale statistics (autovacuum off, or behind a fast fill) the
   * planner may read a host identity lookup from the wrong index, one scan of the project per create.
   */
  analyze?(db: Kysely<Database>): Promise<void>;
  /** Durability apart from the commit (SQLite, see WalSync). */
  durability?: Durability;
  /** Stops what the adapter runs beside the connection (SQLite's checkpoint thread), before it closes. */
  close?(): Promise<void>;
  /** Subscribes to other processes' commits; returns the unsubscribe. */
  listen(onWake: (revision?: number) => void): Promise<() => Promise<void>>;
}

/**
 * `defer()` inside a transaction lets its COMMIT return before its data is on disk, and `sync()`
 * then resolves once it is. Group commit answers a batch after its sync, and the next batch
 * gathers meanwhile: it commits after the sync.
 */
export interface Durability {
  defer(): void;
  sync(): Promise<void>;
}
