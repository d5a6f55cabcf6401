import Database from 'better-sqlite3';

/** Time spent in one SQL statement's executions (its text as prepared: parameters stay `?`). */
export interface SqlStat {
  sql: string;
  calls: number;
  ms: number;
}

const stats = new Map<string, { calls: number; ms: number }>();

/**
 * Counts calls and time of every better-sqlite3 statement run in this process (`all`, `get`,
 * `run`; synchronous, so the time is exactly what the event loop spent), keyed by SQL text. A
 * bench-only diagnostic: it patches the Statement prototype, costing about a microsecond a call.
 * @example installSqlStats(); …; const top = takeSqlStats(10)
 */
export function installSqlStats(): void {
  const db = new Database(':memory:');
  const proto = Object.getPrototypeOf(db.prepare('select 1')) as Record<string, (...a: unknown[]) => unknown>;
  db.close();
  for (const method of ['all', 'get', 'run']) {
    const original = proto[method];
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const s = stats.get(this.source) ?? { calls: 0, ms: 0 };
        s.calls++;
        s.ms += performance.now() - t0;
        stats.set(this.source, s);
      }
    };
  }
}

/** The `top` statements by total time since the last take (then starts counting afresh). */
export function takeSqlStats(top: number): { totalMs: number; statements: SqlStat[] } {
  const all = [...stats].map(([sql, s]) => ({ sql, ...s }));
  stats.clear();
  return { totalMs: all.reduce((a, s) => a + s.ms, 0), statements: all.sort((a, b) => b.ms - a.ms).slice(0, top) };
}

/**
 * One line for a report: how much of `seconds` went to SQLite, and the heaviest statements.
 * @example describeSqlStats(await server.sqlStats(), 30, 4)
 */
export function describeSqlStats(t: { totalMs: number; statements: SqlStat[] } | undefined, seconds: number, top = 4): string {
  if (!t) return 'SQL statements not timed (run with --sql-stats)';
  const shorten = (sql: string) => sql.replace(/\s+/g, ' ').replace(/"/g, '').slice(0, 160);
  return `SQLite statements took ${Math.round(t.totalMs).toLocaleString('en-US')} ms of the ${Math.round(seconds)} s (${((100 * t.totalMs) / 1000 / seconds).toFixed(0)} % of one core); heaviest: ${t.statements
    .slice(0, top)
    .map((s) => `${Math.round(s.ms).toLocaleString('en-US')} ms in ${s.calls.toLocaleString('en-US')} calls (${(s.ms / s.calls).toFixed(2)} ms each): \`${shorten(s.sql)}\``)
    .join('; ')}`;
}
