import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../../src/testing/test-stores.ts';
import type { BenchDialect } from './bench-options.ts';
import { deferCleanup } from './cleanup.ts';

/** Where one benchmark's store lives: a temp data dir, plus a fresh PostgreSQL database for postgres. */
export interface StoreTarget {
  dialect: BenchDialect;
  /** The server's data dir (signing key, admin token; the SQLite file for sqlite). */
  dataDir: string;
  /** The postgres:// URL; undefined for sqlite. */
  store?: string;
  /** Removes the directory and drops the database (also done on exit if forgotten). */
  remove(): Promise<void>;
}

/**
 * A fresh, empty place for a store of the dialect.
 * @example const t = await freshTarget('postgres'); try { … } finally { await t.remove() }
 */
export async function freshTarget(dialect: BenchDialect): Promise<StoreTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), `eim-bench-${dialect}-`));
  const removeDir = deferCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  if (dialect === 'sqlite') return { dialect, dataDir, remove: removeDir };
  const db = await createTestDatabase();
  const drop = deferCleanup(() => db.drop());
  return {
    dialect,
    dataDir,
    store: db.url,
    async remove() {
      await drop();
      await removeDir();
    },
  };
}
