import { Kysely, PostgresDialect, sql } from 'kysely';
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

function postgresAdapter(url: string): DialectAdapter {
  return {
    name: 'postgres',
    async lockRevision(trx) {
      // The row lock is held to commit: the next writer gets its revisions only after we committed.
      const r = await sql<{ revision: number }>`select revision from eim_meta where id = 1 for update`.execute(trx);
      return Number(r.rows[0].revision);
    },
    async finishBatch(trx, events, lastRevision) {
      // One round trip: the events, the revision and the NOTIFY in one statement (chunks of 1000).
      for (let i = 0; i < events.length; i += 1000) {
        const chunk = events.slice(i, i + 1000);
        const values = sql.join(chunk.map((e) => sql`(${e.revision}, ${e.project}, ${e.kind}, ${e.id}, ${e.type}, ${e.at}, ${e.data})`));
        const last = i + 1000 >= events.length;
        if (last) {
          await sql`with ev as (insert into eim_events (revision, project, kind, id, type, at, data) values ${values}),
            m as (update eim_meta set revision = ${lastRevision} where id = 1)
            select pg_notify(${CHANNEL}, ${String(lastRevision)})`.execute(trx);
        } else {
          await sql`insert into eim_events (revision, project, kind, id, type, at, data) values ${values}`.execute(trx);
        }
      }
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
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, Client: PreparedClient });
  pool.on('error', () => {}); // an idle client's error; the next checkout reconnects
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db, 'postgres');
  const store = new KyselyStore(db, postgresAdapter(url), options);
  await store.start();
  return store;
}
