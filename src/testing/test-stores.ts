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

/** A fresh, empty database on the test server; `drop` removes it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `eim_t_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await c.end();
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
