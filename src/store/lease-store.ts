import { type Kysely, sql } from 'kysely';
import type { SqlDialectName } from './filter-sql.ts';

/** One host's connection lease as stored. Times are milliseconds since the epoch. */
export interface LeaseRow {
  hostId: string;
  project: string;
  /** The server process that wrote it last (the one the agent heartbeats to). */
  serverId: string;
  /** The agent's last heartbeat that server heard. */
  lastSeen: number;
  intervalMs: number;
  /** When the host counts as lost unless renewed. */
  expiresAt: number;
}

/** Rows per statement when a batch is very large (PostgreSQL arrays, SQLite one JSON text). */
const CHUNK = 5000;

/**
 * The agents' leases (table eim_leases), shared by every server on the database. Servers renew
 * what their agents told them in one statement per flush; the judging server reads what expired.
 * A renewal never moves a lease back in time, so two servers flushing the same host (an agent
 * that moved) keep the newer heartbeat.
 * @example await store.leases.renew('srv-1', [{ hostId, project, lastSeen: Date.now(), intervalMs: 10_000, expiresAt: Date.now() + 32_000 }])
 */
export class LeaseStore {
  constructor(
    private readonly db: Kysely<any>,
    private readonly dialect: SqlDialectName,
  ) {}

  /** Upserts the leases in one statement (per 5,000 rows), keeping the newer heartbeat of each host. */
  async renew(serverId: string, rows: readonly Omit<LeaseRow, 'serverId'>[]): Promise<void> {
    // One lock order for every server: two flushes touching the same hosts never deadlock.
    const sorted = [...rows].sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
    for (let i = 0; i < sorted.length; i += CHUNK) {
      const chunk = sorted.slice(i, i + CHUNK);
      const source =
        this.dialect === 'postgres'
          ? sql`select h, p, ${serverId}, l, n, e from unnest(${chunk.map((r) => r.hostId)}::text[], ${chunk.map((r) => r.project)}::text[], ${chunk.map((r) => Math.round(r.lastSeen))}::bigint[], ${chunk.map((r) => Math.round(r.intervalMs))}::bigint[], ${chunk.map((r) => Math.round(r.expiresAt))}::bigint[]) as t(h, p, l, n, e)`
          : sql`select json_extract(value, '$[0]'), json_extract(value, '$[1]'), ${serverId}, json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]') from json_each(${JSON.stringify(chunk.map((r) => [r.hostId, r.project, Math.round(r.lastSeen), Math.round(r.intervalMs), Math.round(r.expiresAt)]))}) where true`;
      await sql`insert into eim_leases (host_id, project, server_id, last_seen, interval_ms, expires_at) ${source}
        on conflict (host_id) do update set project = excluded.project, server_id = excluded.server_id, last_seen = excluded.last_seen, interval_ms = excluded.interval_ms, expires_at = excluded.expires_at
        where excluded.last_seen >= eim_leases.last_seen`.execute(this.db);
    }
  }

  /** Leases that expire in (after, until]: what turned lost since the last look. */
  async expiring(after: number, until: number): Promise<LeaseRow[]> {
    return this.rows(sql`where expires_at > ${Math.round(after)} and expires_at <= ${Math.round(until)}`);
  }

  /** The leases of these hosts (those that have one). */
  async get(hostIds: readonly string[]): Promise<LeaseRow[]> {
    const out: LeaseRow[] = [];
    for (let i = 0; i < hostIds.length; i += 1000) {
      const ids = hostIds.slice(i, i + 1000);
      if (ids.length) out.push(...(await this.rows(sql`where host_id in (${sql.join(ids)})`)));
    }
    return out;
  }

  /** Every lease (the judge's periodic full look). */
  async all(): Promise<LeaseRow[]> {
    return this.rows(sql``);
  }

  /** Leases for hosts that have none (a host running from before leases were stored); existing ones stay. */
  async addMissing(serverId: string, rows: readonly Omit<LeaseRow, 'serverId'>[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) {
      const values = sql.join(rows.slice(i, i + 500).map((r) => sql`(${r.hostId}, ${r.project}, ${serverId}, ${Math.round(r.lastSeen)}, ${Math.round(r.intervalMs)}, ${Math.round(r.expiresAt)})`));
      await sql`insert into eim_leases (host_id, project, server_id, last_seen, interval_ms, expires_at) values ${values} on conflict (host_id) do nothing`.execute(this.db);
    }
  }

  /** Forgets deleted hosts' leases. */
  async remove(hostIds: readonly string[]): Promise<void> {
    for (let i = 0; i < hostIds.length; i += 1000) {
      const ids = hostIds.slice(i, i + 1000);
      if (ids.length) await sql`delete from eim_leases where host_id in (${sql.join(ids)})`.execute(this.db);
    }
  }

  private async rows(where: ReturnType<typeof sql>): Promise<LeaseRow[]> {
    const r = await sql<{ host_id: string; project: string; server_id: string; last_seen: number | string; interval_ms: number | string; expires_at: number | string }>`select host_id, project, server_id, last_seen, interval_ms, expires_at from eim_leases ${where}`.execute(this.db);
    return r.rows.map((x) => ({ hostId: x.host_id, project: x.project, serverId: x.server_id, lastSeen: Number(x.last_seen), intervalMs: Number(x.interval_ms), expiresAt: Number(x.expires_at) }));
  }
}
