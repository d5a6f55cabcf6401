import pg from 'pg';

/** Statements one connection keeps prepared, at most (the least recently used go). */
export const PREPARED_PER_CONNECTION = 128;
/** Longer statement texts are not prepared (a multi-row insert's parse is spread over its rows). */
export const PREPARED_MAX_TEXT = 4096;

/**
 * PostgreSQL's refusal to run a prepared `select *` after its table's columns changed (a migration
 * by another server): SQLSTATE 0A000 with this message. The next try prepares it afresh.
 */
export function isStalePlan(e: unknown): boolean {
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && message === 'cached plan must not change result type';
}
/** A name the session does not hold (a statement whose parameters could not be bound, say). */
const NO_SUCH_STATEMENT = '26000';
/** A statement sent into a transaction already aborted by an earlier one. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * Bumped when any connection of this process meets a stale plan: a migration changed a table, so
 * every connection's prepared statements of it are stale. Each connection starts afresh at its next
 * statement, and at most one statement per process fails, not one per connection and text.
 */
let epoch = 0;

/**
 * A pg client that runs each parameterised statement as a named prepared statement of its
 * connection, so PostgreSQL parses and plans it once per connection instead of on every run: the
 * store's statements are few and fixed in shape (their values are parameters), and with one
 * committer connection the parse and plan of every statement was a large part of a write.
 * PostgreSQL plans a prepared statement again when its tables' definitions or statistics change.
 *
 * Bounded by count and bytes: at most `PREPARED_PER_CONNECTION` per connection, the least recently
 * used deallocated first (a list filter's text varies with the tenant's filter), and texts over
 * `PREPARED_MAX_TEXT` run unnamed as before. A statement PostgreSQL will not run any more as
 * prepared (its table's columns changed under it; a name it lost) makes the connection forget it,
 * and every connection of the process forget theirs after a stale plan; it runs again unnamed when
 * that is safe (outside a transaction). Inside one the error stands: the store retries the writes.
 *
 * Used as the pool's `Client`; config objects (named or not, cursors) pass through untouched.
 */
export class PreparedClient extends pg.Client {
  /** Statement text → its name on this connection, least recently used first. */
  private readonly prepared = new Map<string, string>();
  private nextName = 0;
  private epoch = epoch;
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
    if (this.epoch !== epoch) {
      this.epoch = epoch;
      for (const [t, n] of [...this.prepared]) this.forget(t, n);
    }
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
      }
    }
    this.deallocateStale();
    try {
      return await super.query({ name, text, values });
    } catch (e) {
      const code = (e as { code?: unknown })?.code;
      const stalePlan = isStalePlan(e);
      if (stalePlan) epoch++;
      // Whatever failed, a name the session did not take (its parse refused, say inside an aborted
      // transaction) must not be deallocated later: that would fail, and abort a healthy transaction.
      if (stalePlan || code === NO_SUCH_STATEMENT || !this.parsed(name)) this.forget(text, name);
      if ((stalePlan || code === NO_SUCH_STATEMENT) && this.getTransactionStatus() === 'I') return super.query(text, values);
      throw e;
    }
  }

  /** Whether pg has sent the parse of `name` in this session (and so it may exist there). */
  private parsed(name: string): boolean {
    const c = this.pgConnection();
    return c?.parsedStatements?.[name] !== undefined || c?.submittedNamedStatements?.[name] !== undefined;
  }

  /**
   * Drops `text` from this client; its name, when the session may hold it, is deallocated before
   * the next statement. pg's own record of the parse goes too: without it pg would skip the parse.
   */
  private forget(text: string, name: string): void {
    this.prepared.delete(text);
    const c = this.pgConnection();
    if (this.parsed(name)) this.stale.push(name);
    if (c?.parsedStatements) delete c.parsedStatements[name];
    if (c?.submittedNamedStatements) delete c.submittedNamedStatements[name];
  }

  /** Queues the stale names' deallocation ahead of the next statement, unless the transaction has failed (then they wait). */
  private deallocateStale(): void {
    if (this.stale.length === 0 || this.getTransactionStatus() === 'E') return;
    for (const old of this.stale.splice(0)) {
      // The status read is that of the last answer: a pipelined statement in flight may have
      // aborted the transaction since. Then the name waits for the next try.
      super.query(`deallocate ${old}`).catch((e: { code?: unknown }) => {
        if (e?.code === IN_FAILED_TRANSACTION) this.stale.push(old);
      });
    }
  }

  private pgConnection(): { parsedStatements?: Record<string, string>; submittedNamedStatements?: Record<string, string> } | undefined {
    return (this as unknown as { connection?: { parsedStatements?: Record<string, string>; submittedNamedStatements?: Record<string, string> } }).connection;
  }
}
