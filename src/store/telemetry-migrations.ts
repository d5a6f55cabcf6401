import { type Kysely, type Migration, sql } from 'kysely';
import type { SqlDialectName } from './filter-sql.ts';

/**
 * The tables of collected telemetry (issue 15): samples and log lines of agents, never in the
 * event log. Named to sort after the resource migrations, so other tables can be added before
 * them without reordering what a database has run.
 *
 * - `eim_tm_series`: one row per host, metric name and attribute set; ids are what samples store.
 * - `eim_tm_samples`: full resolution, one row per host, sample time and group, the values packed
 *   (series id, value) in `data` (see telemetry-codec.ts): about 12 bytes a sample.
 * - `eim_tm_rollups`: 5-minute aggregates per host (count, min, max, sum, last per series), packed.
 * - `eim_tm_dirty`: (host, bucket) pairs with new samples, rolled up when their bucket has closed.
 * - `eim_tm_hosts`: per host the latest value of each series, the headline metrics (for top-N),
 *   the last batch seen (stream, seq: a repeated batch is stored once) and when lastSampleAt was written.
 * - `eim_tm_logs`: log lines, newest first by (t, seq).
 * - `eim_tm_usage`: bytes stored per kind and sample minute, per writing process (no row shared
 *   by two servers), so the byte budgets are enforced without scanning the data.
 */
export function telemetryMigrations(dialect: SqlDialectName): Record<string, Migration> {
  const pg = dialect === 'postgres';
  const int64 = pg ? sql`bigint` : sql`integer`;
  const blob = pg ? sql`bytea` : sql`blob`;
  const real = pg ? sql`double precision` : sql`real`;
  const idColumn = pg ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
  return {
    '0010_telemetry': {
      async up(db: Kysely<any>) {
        await sql`create table eim_tm_series (id ${idColumn}, project text not null, host_id text not null, name text not null, attrs text not null, type text not null, unit text not null)`.execute(db);
        await sql`create unique index eim_tm_series_key on eim_tm_series (host_id, name, attrs)`.execute(db);
        // Keyed by host and time, so a host's day is one range of the table (SQLite: a clustered
        // WITHOUT ROWID table, read in page order instead of a page per row). `part` tells apart
        // rows of one host and time from different groups (the first series id of the row).
        const clustered = pg ? sql`` : sql` without rowid`;
        await sql`create table eim_tm_samples (host_id text not null, t ${int64} not null, part ${int64} not null, data ${blob} not null, primary key (host_id, t, part))${clustered}`.execute(db);
        await sql`create index eim_tm_samples_t on eim_tm_samples (t)`.execute(db);
        await sql`create table eim_tm_rollups (host_id text not null, bucket ${int64} not null, data ${blob} not null, primary key (host_id, bucket))${clustered}`.execute(db);
        await sql`create index eim_tm_rollups_bucket on eim_tm_rollups (bucket)`.execute(db);
        await sql`create table eim_tm_dirty (host_id text not null, bucket ${int64} not null, primary key (host_id, bucket))`.execute(db);
        await sql`create index eim_tm_dirty_bucket on eim_tm_dirty (bucket)`.execute(db);
        await sql`create table eim_tm_hosts (host_id text primary key, project text not null, last_t ${int64} not null, status_at ${int64}, stream text, seq ${int64}, cpu ${real}, memory ${real}, disk ${real}, latest text not null)`.execute(db);
        await sql`create index eim_tm_hosts_project on eim_tm_hosts (project)`.execute(db);
        await sql`create table eim_tm_logs (seq ${idColumn}, project text not null, host_id text not null, t ${int64} not null, severity integer not null, body text not null, attrs text)`.execute(db);
        await sql`create index eim_tm_logs_host on eim_tm_logs (host_id, t, seq)`.execute(db);
        await sql`create index eim_tm_logs_project on eim_tm_logs (project, t, seq)`.execute(db);
        await sql`create index eim_tm_logs_t on eim_tm_logs (t)`.execute(db);
        await sql`create table eim_tm_usage (kind text not null, minute ${int64} not null, writer text not null, bytes ${int64} not null, primary key (kind, minute, writer))`.execute(db);
      },
    },
    '0014_log_order': {
      // What `logs?afterId=` reads: a host's (or a project's) lines in the order they were stored.
      async up(db: Kysely<any>) {
        await sql`create index eim_tm_logs_host_seq on eim_tm_logs (host_id, seq)`.execute(db);
        await sql`create index eim_tm_logs_project_seq on eim_tm_logs (project, seq)`.execute(db);
      },
    },
  };
}
