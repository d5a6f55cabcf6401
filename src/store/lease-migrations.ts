import { type Kysely, type Migration, sql } from 'kysely';
import type { SqlDialectName } from './filter-sql.ts';

/**
 * The agents' connection leases (issue 10): one row per host, renewed by whichever server the
 * agent heartbeats to (a batched flush every few seconds), read by the one server that judges
 * expiry. `expires_at` is when the host counts as lost (its last heartbeat, plus its missed
 * intervals, plus the writer's flush period), indexed so expiry is a range scan.
 */
export function leaseMigrations(dialect: SqlDialectName): Record<string, Migration> {
  const int64 = dialect === 'postgres' ? sql`bigint` : sql`integer`;
  return {
    '0011_leases': {
      async up(db: Kysely<any>) {
        await sql`create table eim_leases (host_id text primary key, project text not null, server_id text not null, last_seen ${int64} not null, interval_ms ${int64} not null, expires_at ${int64} not null)`.execute(db);
        await sql`create index eim_leases_expires on eim_leases (expires_at)`.execute(db);
      },
    },
  };
}
