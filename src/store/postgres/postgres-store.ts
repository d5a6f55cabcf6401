import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DialectAdapter } from '../dialect-adapter.ts';
import { KyselyStore, type KyselyStoreOptions } from '../kysely-store.ts';
import { migrateToLatest } from '../migrations.ts';
import { PreparedClient } from './prepared-client.ts';
import type { Database } from '../schema.ts';

// Revisions are bigint columns; they stay far below 2^53, so read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

const CHANNEL = 'eim_events';

export interface PostgresStoreOptions extends KyselyStoreOptions {
  /** Connections in the pool. @default 10 */
  poolSize?: number;
}

/**
 * The revision lock: the row lock is held to commit, so the next writer gets its revisions only
 * after we committed. The managers' leader epoch comes with it (WriteOptions.fence): one taking the
 * managers lock moves it on under the same row lock, so a batch sees every move committed before it.
 */
const LOCK_REVISION = 'select revision, leader_epoch from eim_meta where id = 1 for update';

function postgresAdapter(url: string, pool: pg.Pool): DialectAdapter {
  /**
   * A Kysely instance over one checked-out connection, per connection (its statements are not
   * serialised, so they pipeline). It serves only while a batch holds the connection: a statement
   * sent through it after runBatch let go would run in another user's session.
   */
  const handles = new WeakMap<pg.PoolClient, { db: Kysely<Database>; lease: { held: boolean } }>();
  const handleOf = (client: pg.PoolClient) => {
    let handle = handles.get(client);
    if (!handle) {
      // The connection is the batch's: released by runBatch, not by each statement.
      const lease = {
        held: false,
        query: (text: string, values: unknown[]) => {
          if (!lease.held) return Promise.reject(new Error('a write batch statement was sent after its batch ended'));
          return client.query(text, values);
        },
        release: () => {},
      };
      handle = { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect: async () => lease, end: async () => {} } as unknown as pg.Pool }) }), lease };
      handles.set(client, handle);
    }
    return handle;
  };
  return {
    name: 'postgres',
    async lockRevision(trx) {
      const r = await trx.executeQuery<{ revision: number }>(CompiledQuery.raw(LOCK_REVISION));
      return Number(r.rows[0].revision);
    },
    async runBatch(body) {
      const client = await pool.connect();
      const handle = handleOf(client);
      handle.lease.held = true;
      /** Set when the connection may be left mid-transaction: the pool then closes it. */
      let broken: Error | undefined;
      try {
        // Sent at once with the body's first reads (the pool's connections pipeline), which the
        // database runs after the lock is held, so they see every commit before ours.
        const begun = client.query('begin');
        const lockedRow = client.query(LOCK_REVISION);
        const locked = lockedRow.then((r) => Number(r.rows[0].revision));
        const epoch = lockedRow.then((r) => Number(r.rows[0].leader_epoch));
        // Fails with `locked` (handled below); a body that fails before reading it must not leave it unhandled.
        epoch.catch(() => {});
        // All settled before anything else is sent: a body still running would send statements
        // after the rollback, or on a connection back in the pool.
        // The body sends COMMIT itself, right behind its last statements (through its handle, so
        // in the order started): no round trip of its own. A statement's error before it aborts the
        // transaction, and COMMIT then answers ROLLBACK.
        let committed: Promise<pg.QueryResult> | undefined;
        const commit = () => {
          committed = handle.db.executeQuery(CompiledQuery.raw('commit')).then(
            // Kysely's driver answers COMMIT and ROLLBACK as a row holding the command.
            (r) => ({ command: (r.rows[0] as { command?: string } | undefined)?.command ?? 'COMMIT' }) as pg.QueryResult,
            (e: Error) => {
              broken = e;
              throw e;
            },
          );
          return committed;
        };
        const [b, l, w] = await Promise.allSettled([begun, locked, body(handle.db, locked, commit, epoch)]);
        const failed = [w, b, l].find((x) => x.status === 'rejected');
        if (failed) {
          // Also after a COMMIT that answered ROLLBACK: a warning then, and the session is clean.
          await client.query('rollback').catch((r: Error) => (broken = r));
          throw failed.reason;
        }
        let r: pg.QueryResult;
        try {
          r = await (committed ?? client.query('commit'));
        } catch (e) {
          broken = e as Error;
          throw e;
        }
        // An earlier statement's error left the transaction aborted: COMMIT rolled it back.
        if (r.command === 'ROLLBACK') throw new Error('the transaction was aborted by an earlier error and rolled back');
      } finally {
        handle.lease.held = false;
        client.release(broken);
      }
    },
    async finishBatch(trx, events, lastRevision) {
      // One round trip: the events, the revision and the NOTIFY in one statement (chunks of 1000),
      // all started at once (the batch's COMMIT may follow them at once).
      const statements: Promise<unknown>[] = [];
      for (let i = 0; i < events.length; i += 1000) {
        const chunk = events.slice(i, i + 1000);
        const values = sql.join(chunk.map((e) => sql`(${e.revision}, ${e.project}, ${e.kind}, ${e.id}, ${e.type}, ${e.at}, ${e.data})`));
        const last = i + 1000 >= events.length;
        if (last) {
          statements.push(
            sql`with ev as (insert into eim_events (revision, project, kind, id, type, at, data) values ${values}),
            m as (update eim_meta set revision = ${lastRevision} where id = 1)
            select pg_notify(${CHANNEL}, ${String(lastRevision)})`.execute(trx),
          );
        } else {
          statements.push(sql`insert into eim_events (revision, project, kind, id, type, at, data) values ${values}`.execute(trx));
        }
      }
      const settled = await Promise.allSettled(statements);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    parseJson: (v) => v,
    async analyze(db) {
      await sql`analyze eim_resources`.execute(db);
    },
    snapshot: (db, fn) => db.transaction().setIsolationLevel('repeatable read').execute(fn),
    async listen(onWake) {
      let client: pg.Client | undefined;
      let closed = false;
      let delay = 100;
      const connect = async (): Promise<void> => {
        if (closed) return;
        const c = new pg.Client({ connectionString: url });
        c.on('notification', (n) => onWake(n.payload ? Number(n.payload) : undefined));
        c.on('error', () => {
          c.end().catch(() => {});
          if (!closed) setTimeout(() => void connect(), delay).unref();
          delay = Math.min(delay * 2, 5000);
        });
        try {
          await c.connect();
          await c.query(`listen ${CHANNEL}`);
          client = c;
          delay = 100;
          onWake(); // anything committed while we were not listening
        } catch {
          c.end().catch(() => {});
          if (!closed) setTimeout(() => void connect(), delay).unref();
          delay = Math.min(delay * 2, 5000);
        }
      };
      await connect();
      return async () => {
        closed = true;
        await client?.end().catch(() => {});
      };
    },
  };
}

/**
 * Opens the scale-out store on a PostgreSQL database; several server processes may share it.
 * @example const store = await openPostgresStore('postgres://postgres@127.0.0.1:5432/eim')
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<KyselyStore> {
  // Pipelined: statements sent together go out together (a write batch's, see runBatch); the
  // others are sent one at a time by their callers as before.
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, Client: PreparedClient, pipeline: true } as pg.PoolConfig);
  pool.on('error', () => {}); // an idle client's error; the next checkout reconnects
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db, 'postgres');
  const store = new KyselyStore(db, postgresAdapter(url, pool), options);
  await store.start();
  return store;
}
