import { sql } from 'kysely';
import { forEachSample, packRollup, type RollupCell } from './telemetry-codec.ts';
import { ROLLUP_ROW_OVERHEAD, type TelemetryStore } from './telemetry-store.ts';

/** The rollup bucket: 5 minutes. */
export const ROLLUP_MS = 300_000;

/** How long and how much telemetry the store keeps. */
export interface TelemetryRetention {
  /** Full-resolution samples are kept this long. */
  rawMs: number;
  /** 5-minute rollups are kept this long. */
  rollupMs: number;
  /** Log lines are kept this long. */
  logsMs: number;
  /** Samples and rollups together: past it, the oldest go first. */
  metricsBytes: number;
  /** Log lines: past it, the oldest go first. */
  logsBytes: number;
}

export interface MaintenanceReport {
  rolledUp: number;
  deletedSamples: number;
  deletedRollups: number;
  deletedLogs: number;
  /** Bytes counted after the run. */
  metricsBytes: number;
  logsBytes: number;
}

const DELETE_CHUNK = 5000;

/**
 * One maintenance pass over the telemetry tables; safe to run on every server at once (the dirty
 * rows a pass rolls up are taken with DELETE … RETURNING, so one server does each; deletions are
 * idempotent):
 * 1. roll up (host, bucket) pairs with new samples whose 5-minute bucket has closed, recomputed from
 *    the bucket's full-resolution samples (so a late batch, delivered from an agent's buffer, is counted);
 * 2. delete what is older than its retention;
 * 3. while a budget is exceeded, delete the oldest minutes (by the bytes ledger).
 * @example await maintainTelemetry(store.telemetry, { rawMs: 86_400_000, rollupMs: 30 * 86_400_000, logsMs: 7 * 86_400_000, metricsBytes: 2 ** 30, logsBytes: 2 ** 28 })
 */
export async function maintainTelemetry(store: TelemetryStore, r: TelemetryRetention): Promise<MaintenanceReport> {
  const now = store.now();
  const rolledUp = await rollUp(store, now);
  const db = store.kysely;
  const report: MaintenanceReport = { rolledUp, deletedSamples: 0, deletedRollups: 0, deletedLogs: 0, metricsBytes: 0, logsBytes: 0 };
  const minute = (t: number) => Math.floor(t / 60_000) * 60_000;
  const rawCut = minute(now - r.rawMs);
  const rollupCut = minute(now - r.rollupMs);
  const logsCut = minute(now - r.logsMs);
  report.deletedSamples += await deleteOlder(store, 'eim_tm_samples', 't', rawCut);
  report.deletedRollups += await deleteOlder(store, 'eim_tm_rollups', 'bucket', rollupCut);
  report.deletedLogs += await deleteOlder(store, 'eim_tm_logs', 't', logsCut);
  await sql`delete from eim_tm_usage where (kind = 'samples' and minute < ${rawCut}) or (kind = 'rollups' and minute < ${rollupCut}) or (kind = 'logs' and minute < ${logsCut})`.execute(db);

  // Budgets: the ledger per minute says how far back to cut.
  const cutFor = async (kinds: string[], budget: number): Promise<{ cut?: number; total: number }> => {
    const { rows } = await sql<{ minute: number; bytes: number }>`select minute, sum(bytes) as bytes from eim_tm_usage where kind in (${sql.join(kinds)}) group by minute order by minute`.execute(db);
    const total = rows.reduce((s, x) => s + Number(x.bytes), 0);
    if (total <= budget) return { total };
    let excess = total - budget;
    for (const x of rows) {
      excess -= Number(x.bytes);
      if (excess <= 0) return { cut: Number(x.minute) + 60_000, total };
    }
    return { cut: now + 60_000, total };
  };
  const m = await cutFor(['samples', 'rollups'], r.metricsBytes);
  if (m.cut !== undefined) {
    report.deletedSamples += await deleteOlder(store, 'eim_tm_samples', 't', m.cut);
    report.deletedRollups += await deleteOlder(store, 'eim_tm_rollups', 'bucket', m.cut);
    await sql`delete from eim_tm_usage where kind in ('samples', 'rollups') and minute < ${m.cut}`.execute(db);
  }
  const l = await cutFor(['logs'], r.logsBytes);
  if (l.cut !== undefined) {
    report.deletedLogs += await deleteOlder(store, 'eim_tm_logs', 't', l.cut);
    await sql`delete from eim_tm_usage where kind = 'logs' and minute < ${l.cut}`.execute(db);
  }
  report.metricsBytes = (await cutFor(['samples', 'rollups'], Infinity)).total;
  report.logsBytes = (await cutFor(['logs'], Infinity)).total;
  return report;
}

/** Bytes counted now, per kind (samples, rollups, logs). */
export async function telemetryUsage(store: TelemetryStore): Promise<Record<string, number>> {
  const { rows } = await sql<{ kind: string; bytes: number }>`select kind, sum(bytes) as bytes from eim_tm_usage group by kind`.execute(store.kysely);
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.bytes)]));
}

async function deleteOlder(store: TelemetryStore, table: 'eim_tm_samples' | 'eim_tm_rollups' | 'eim_tm_logs', column: 't' | 'bucket', cut: number): Promise<number> {
  const db = store.kysely;
  let deleted = 0;
  const t = sql.table(table);
  const c = sql.ref(column);
  for (;;) {
    // In chunks: a long delete would hold the (one) SQLite writer, or PostgreSQL locks, for long.
    const r =
      table === 'eim_tm_rollups'
        ? await sql`delete from eim_tm_rollups where (host_id, bucket) in (select host_id, bucket from eim_tm_rollups where bucket < ${cut} limit ${DELETE_CHUNK})`.execute(db)
        : table === 'eim_tm_samples'
          ? await sql`delete from eim_tm_samples where (host_id, t, part) in (select host_id, t, part from eim_tm_samples where t < ${cut} limit ${DELETE_CHUNK})`.execute(db)
          : await sql`delete from ${t} where seq in (select seq from ${t} where ${c} < ${cut} limit ${DELETE_CHUNK})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0);
    deleted += n;
    if (n < DELETE_CHUNK) return deleted;
  }
}

/** Rolls up dirty (host, bucket) pairs of closed buckets; returns how many. */
async function rollUp(store: TelemetryStore, now: number): Promise<number> {
  const db = store.kysely;
  const closed = Math.floor(now / ROLLUP_MS) * ROLLUP_MS;
  let done = 0;
  for (let round = 0; round < 100; round++) {
    const n = await db.transaction().execute(async (trx) => {
      const { rows: taken } = await sql<{ host_id: string; bucket: number }>`delete from eim_tm_dirty where (host_id, bucket) in (select host_id, bucket from eim_tm_dirty where bucket < ${closed} limit 500) returning host_id, bucket`.execute(trx);
      if (taken.length === 0) return 0;
      const byBucket = new Map<number, string[]>();
      for (const d of taken) {
        const b = Number(d.bucket);
        byBucket.set(b, [...(byBucket.get(b) ?? []), d.host_id]);
      }
      for (const [bucket, hosts] of byBucket) {
        const cells = new Map<string, Map<number, RollupCell>>();
        const { rows } = await sql<{ host_id: string; t: number; data: Uint8Array }>`select host_id, t, data from eim_tm_samples where host_id in (${sql.join(hosts)}) and t >= ${bucket} and t < ${bucket + ROLLUP_MS} order by t`.execute(trx);
        for (const r of rows) {
          let m = cells.get(r.host_id);
          if (!m) cells.set(r.host_id, (m = new Map()));
          const cellMap = m;
          forEachSample(r.data, (id, v) => {
            const c = cellMap.get(id);
            if (!c) cellMap.set(id, { count: 1, min: v, max: v, sum: v, last: v });
            else {
              c.count++;
              c.sum += v;
              if (v < c.min) c.min = v;
              if (v > c.max) c.max = v;
              c.last = v;
            }
          });
        }
        const { rows: old } = await sql<{ host_id: string; n: number }>`select host_id, length(data) as n from eim_tm_rollups where bucket = ${bucket} and host_id in (${sql.join(hosts)})`.execute(trx);
        const oldBytes = new Map(old.map((o) => [o.host_id, Number(o.n) + ROLLUP_ROW_OVERHEAD]));
        let delta = 0;
        const values = [];
        for (const [host, m] of cells) {
          const data = packRollup(m);
          values.push(sql`(${host}, ${bucket}, ${data})`);
          delta += data.length + ROLLUP_ROW_OVERHEAD - (oldBytes.get(host) ?? 0);
        }
        if (values.length > 0) {
          await sql`insert into eim_tm_rollups (host_id, bucket, data) values ${sql.join(values)} on conflict (host_id, bucket) do update set data = excluded.data`.execute(trx);
          await sql`insert into eim_tm_usage (kind, minute, writer, bytes) values ('rollups', ${bucket}, ${store.writer}, ${delta}) on conflict (kind, minute, writer) do update set bytes = eim_tm_usage.bytes + excluded.bytes`.execute(trx);
        }
      }
      return taken.length;
    });
    done += n;
    if (n < 500) break;
  }
  return done;
}

/** Removes the telemetry of hosts that no longer exist (deleted hosts; their tokens are revoked, so nothing new comes). */
export async function forgetDeletedHosts(store: TelemetryStore): Promise<string[]> {
  const db = store.kysely;
  const { rows } = await sql<{ host_id: string }>`select host_id from eim_tm_hosts h where not exists (select 1 from eim_resources r where r.id = h.host_id) limit 1000`.execute(db);
  const gone = rows.map((r) => r.host_id);
  if (gone.length === 0) return [];
  for (const table of ['eim_tm_samples', 'eim_tm_logs', 'eim_tm_rollups', 'eim_tm_dirty', 'eim_tm_series', 'eim_tm_hosts']) {
    await sql`delete from ${sql.table(table)} where host_id in (${sql.join(gone)})`.execute(db);
  }
  store.forgetHosts(gone);
  return gone;
}
