import pg from 'pg';

/** Statements one connection keeps prepared, at most (the least recently used go). */
export const PREPARED_PER_CONNECTION = 128;
/** Longer statement texts are not prepared (a multi-row insert's parse is spread over its rows). */
export const PREPARED_MAX_TEXT = 4096;

/** PostgreSQL's refusal to run a prepared `select *` after its table's columns changed (a migration by another server). */
const STALE_PLAN = /cached plan must not change result type/;

/**
 * A pg client that runs each parameterised statement as a named prepared statement of its
 * connection, so PostgreSQL parses and plans it once per connection instead of on every run: the
 * store's statements are few and fixed in shape (their values are parameters), and with one
 * committer connection the parse and plan of every statement was a large part of a write.
 *
 * Bounded by count and bytes: at most `PREPARED_PER_CONNECTION` per connection, the least recently
 * used deallocated first (a list filter's text varies with the tenant's filter), and texts over
 * `PREPARED_MAX_TEXT` run unnamed as before. A statement PostgreSQL will not run any more as
 * prepared (its table's columns changed under it) is forgotten, and run again unnamed when that is
 * safe (outside a transaction); inside one, the error stands and the next run prepares it anew.
 *
 * Used as the pool's `Client`; config objects (named or not, cursors) pass through untouched.
 */
export class PreparedClient extends pg.Client {
  /** Statement text → its name on this connection, least recently used first. */
  private readonly prepared = new Map<string, string>();
  private nextName = 0;
  /**
   * Names this client no longer uses, to deallocate in the session: queued ahead of its next
   * statement, except inside an aborted transaction (where they would fail), which waits.
   */
  private readonly stale: string[] = [];

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // A connection that breaks (the database restarts, an administrator ends the session) fails
    // its queries, and the next one sent; the pool drops it when it comes back. Its 'error' event
    // is for the idle ones, which the pool listens to itself: one checked out with no statement in
    // flight at that moment (a write batch between two statements) has no listener, and the event
    // would be an uncaught exception that ends the server.
    this.on('error', () => {});
  }

  // The overloads of pg.Client.query are many; this override handles the (text, values) form
  // Kysely uses and hands every other form on unchanged.
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config !== 'string' || !Array.isArray(values) || values.length === 0 || callback !== undefined || config.length > PREPARED_MAX_TEXT) {
      return super.query(config, values, callback);
    }
    return this.runPrepared(config, values);
  }

  /** How many statements this connection holds prepared (tests). */
  get preparedCount(): number {
    return this.prepared.size;
  }

  private async runPrepared(text: string, values: unknown[]): Promise<pg.QueryResult> {
    let name = this.prepared.get(text);
    if (name !== undefined) {
      this.prepared.delete(text); // to the most recent end
      this.prepared.set(text, name);
    } else {
      name = `eim_${this.nextName++}`;
      this.prepared.set(text, name);
      if (this.prepared.size > PREPARED_PER_CONNECTION) {
        const [oldText, oldName] = this.prepared.entries().next().value!;
        this.forget(oldText, oldName);
        this.stale.push(oldName); // queued ahead of this statement, below
      }
    }
    if (this.stale.length > 0 && this.getTransactionStatus() !== 'E') {
      for (const old of this.stale.splice(0)) super.query(`deallocate ${old}`).catch(() => {});
    }
    try {
      return await super.query({ name, text, values });
    } catch (e) {
      if (!STALE_PLAN.test((e as Error)?.message ?? '')) throw e;
      // The next run prepares the text under a new name; the old one is dropped from the session
      // before this connection's next statement outside an aborted transaction.
      this.forget(text, name);
      this.stale.push(name);
      if (this.getTransactionStatus() !== 'I') throw e;
      return super.query(text, values);
    }
  }

  private forget(text: string, name: string): void {
    this.prepared.delete(text);
    // pg's record of what this connection parsed: without the entry it would skip the parse.
    const connection = (this as unknown as { connection?: { parsedStatements?: Record<string, string> } }).connection;
    if (connection?.parsedStatements) delete connection.parsedStatements[name];
  }
}
