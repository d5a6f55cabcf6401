import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { monoMs } from './clock.ts';
import { sampleHost } from './sample-host.ts';

let runs = 0;

/**
 * The floor under every durable SQLite write: single-row inserts with better-sqlite3, one row per
 * transaction, WAL and `synchronous = FULL` as the store uses, into a table shaped like
 * eim_resources (same columns, same unique name index). better-sqlite3 is synchronous, so there is
 * one writer: this is the rate of one fsynced commit after another.
 * @example const perSecond = rawSqliteInsertRate(dir, 1000, 5000)
 */
export function rawSqliteInsertRate(dir: string, warmupMs: number, durationMs: number): number {
  const db = new SQLite(join(dir, `raw-${++runs}.db`));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`create table r (id text primary key, project text not null, kind text not null, name text not null, labels text not null,
      spec text not null, status text not null, revision integer not null, generation integer not null, created_at text not null, updated_at text not null);
      create unique index r_name on r (project, kind, name);`);
    const insert = db.prepare('insert into r values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    let i = 0;
    const row = () => {
      const h = sampleHost(`raw-${i}`);
      const at = new Date().toISOString();
      i++;
      return [`host-${i.toString(16).padStart(8, '0')}`, 'default', 'Host', h.name, JSON.stringify(h.labels), JSON.stringify(h.spec), '{}', i, 1, at, at];
    };
    const from = monoMs() + warmupMs;
    while (monoMs() < from) insert.run(row());
    const until = monoMs() + durationMs;
    let n = 0;
    while (monoMs() < until) {
      insert.run(row());
      n++;
    }
    return n / (durationMs / 1000);
  } finally {
    db.close();
  }
}
