import type SQLite from 'better-sqlite3';
import { globMatch } from '../../api/filter.ts';
import { SQLITE_GLOB_FUNCTION } from '../filter-sql.ts';

/**
 * Registers the SQL functions compiled filters call (see filter-sql.ts) on a connection: every
 * connection that runs them needs it, or the query fails with "no such function".
 * `eim_glob(pattern, text)` is `globMatch`: 1 or 0, NULL when `text` is not a string.
 * @example registerSqliteFunctions(new SQLite(':memory:'))
 */
export function registerSqliteFunctions(db: SQLite.Database): void {
  db.function(SQLITE_GLOB_FUNCTION, { deterministic: true }, (pattern: unknown, text: unknown) =>
    typeof pattern === 'string' && typeof text === 'string' ? Number(globMatch(pattern, text)) : null,
  );
}
