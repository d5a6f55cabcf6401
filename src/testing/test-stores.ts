import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore, openSqliteStore } from '../store/index.ts';
import type { KyselyStore, KyselyStoreOptions } from '../store/kysely-store.ts';

/** The PostgreSQL server the test suites use. */
export const PG_URL = process.env.EIM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const DIALECTS = ['sqlite', 'postgres'] as const;
export type Dialect = (typeof DIALECTS)[number];

let reachable: Promise<boolean> | undefined;

/**
 * Whether PostgreSQL answers. In CI (CI=true) an unreachable server is an error, not a skip:
 * the PostgreSQL suites must run there.
 */
export function pgReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch (e) {
      if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${PG_URL} and CI=true: the PostgreSQL suites must run (${(e as Error).message})`);
      process.stderr.write(`\n*** PostgreSQL not reachable at ${PG_URL}: PostgreSQL tests are SKIPPED ***\n\n`);
      return false;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return reachable;
}

/**
 * Runs one statement on a connection of its own to `url` and answers its rows.
 * @example const [{ n }] = await queryDatabase(url, 'select count(*)::int as n from eim_resources')
 */
export async function queryDatabase(url: string, text: string, values?: unknown[]): Promise<any[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Ends every session of the database at `url` but the caller's (as a restart or an administrator would); answers how many. */
export async function terminateSessions(url: string): Promise<number> {
  const [{ n }] = await queryDatabase(url, 'select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
  return n as number;
}

/**
 * Routes every pg query of this process through `intercept` (given the statement's text, the
 * original call to make or not, and a call that sends another text, without parameters, instead)
 * until the returned restore is called.
 * @example const restore = interceptPgQueries((text, send) => (text === 'commit' ? send().then(() => Promise.reject(new Error('lost'))) : send()))
 */
export function interceptPgQueries(intercept: (text: string, send: () => unknown, sendInstead: (text: string) => unknown) => unknown): () => void {
  const query = pg.Client.prototype.query;
  (pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');
    return intercept(
      text,
      () => (query as (...a: unknown[]) => unknown).apply(this, args),
      (other) => (query as (...a: unknown[]) => unknown).apply(this, [other]),
    );
  };
  return () => {
    pg.Client.prototype.query = query;
  };
}

/** A fresh, empty database on the test server; `drop` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `eim_t_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
  await queryDatabase(PG_URL, `create database ${name}`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      await queryDatabase(PG_URL, `drop database if exists ${name} with (force)`).catch(() => {});
    },
  };
}

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix = 'eim-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestStore {
  store: KyselyStore;
  /** The SQLite file or PostgreSQL URL, to open the same store again. */
  location: string;
  reopen(options?: KyselyStoreOptions): Promise<KyselyStore>;
  cleanup(): Promise<void>;
}

/** A fresh store of the dialect. Call cleanup() after. */
export async function openTestStore(dialect: Dialect, options: KyselyStoreOptions = {}): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const tmp = tempDir();
    const file = join(tmp.dir, 'eim.db');
    const opened: KyselyStore[] = [await openSqliteStore(file, options)];
    return {
      store: opened[0],
      location: file,
      async reopen(o) {
        const s = await openSqliteStore(file, o ?? options);
        opened.push(s);
        return s;
      },
      async cleanup() {
        for (const s of opened) await s.close().catch(() => {});
        tmp.remove();
      },
    };
  }
  const db = await createTestDatabase();
  const opened: KyselyStore[] = [await openPostgresStore(db.url, options)];
  return {
    store: opened[0],
    location: db.url,
    async reopen(o) {
      const s = await openPostgresStore(db.url, o ?? options);
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      await db.drop();
    },
  };
}
