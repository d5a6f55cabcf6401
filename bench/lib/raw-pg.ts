import pg from 'pg';
import { closedLoop, type ClosedLoopResult } from './closed-loop.ts';
import { sampleHost } from './sample-host.ts';

let runs = 0;

/**
 * The floor under every durable PostgreSQL write: single-row INSERTs in autocommit (one commit,
 * one WAL flush each) into a table shaped like eim_resources, from `connections` clients at once.
 * @example const r = await rawPgInsertRate(url, 16, 1000, 5000)
 */
export async function rawPgInsertRate(url: string, connections: number, warmupMs: number, durationMs: number): Promise<ClosedLoopResult> {
  const clients = Array.from({ length: connections }, () => new pg.Client({ connectionString: url }));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    const table = `raw_${++runs}`;
    await clients[0].query(`create table ${table} (id text primary key, project text not null, kind text not null, name text not null, labels jsonb not null,
      spec jsonb not null, status jsonb not null, revision bigint not null, generation bigint not null, created_at text not null, updated_at text not null);
      create unique index ${table}_name on ${table} (project, kind, name)`);
    const text = `insert into ${table} values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;
    let i = 0;
    return await closedLoop({
      clients: connections,
      warmupMs,
      durationMs,
      op: async (c) => {
        const n = ++i;
        const h = sampleHost(`raw-${n}`);
        const at = new Date().toISOString();
        await clients[c].query({ name: 'insert', text, values: [`host-${n.toString(16).padStart(8, '0')}`, 'default', 'Host', h.name, JSON.stringify(h.labels), JSON.stringify(h.spec), '{}', n, 1, at, at] });
      },
    });
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}
