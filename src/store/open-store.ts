import { join } from 'node:path';
import { openPostgresStore } from './postgres/postgres-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

export interface OpenStoreOptions {
  /** `postgres://…` for PostgreSQL; anything else (or nothing) is the embedded SQLite store. */
  url?: string;
  /** Where the SQLite file lives when no URL is given. */
  dataDir: string;
  synchronous?: 'full' | 'normal';
}

/**
 * Opens the store a server was configured with.
 * @example await openStore({ dataDir: '.eim' }) // .eim/eim.db
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const url = options.url;
  if (url && /^postgres(ql)?:\/\//.test(url)) return openPostgresStore(url);
  const file = url ? url.replace(/^sqlite:(\/\/)?/, '') : join(options.dataDir, 'eim.db');
  return openSqliteStore(file, { synchronous: options.synchronous });
}
