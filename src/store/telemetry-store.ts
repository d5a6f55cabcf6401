import { type Kysely, sql, type Transaction } from 'kysely';
import { EimError, HEADLINE_METRICS, type HeadlineMetric } from '../api/index.ts';
import type { Durability } from './dialect-adapter.ts';
import { GroupCommit, type Pending } from './group-commit.ts';
import { forEachSample, packSamples } from './telemetry-codec.ts';
import type { SeriesType } from './metric-buckets.ts';

/** One metric point as the server decoded it; the host comes from the agent's token. */
export interface IngestPoint {
  name: string;
  /** Attributes of the series (mount point, interface, CPU mode). */
  attrs: Readonly<Record<string, string>>;
  type: SeriesType;
  unit: string;
  /** Milliseconds since the epoch. */
  t: number;
  value: number;
}

export interface IngestLog {
  t: number;
  /** OpenTelemetry severity number (1–24). */
  severity: number;
  body: string;
  attrs?: Readonly<Record<string, string>>;
}

/** One agent batch (metrics, logs or both) for one host. */
export interface IngestBatch {
  project: string;
  hostId: string;
  /** The agent's batch sequence: a batch whose seq is not above the last stored one of the same stream is a repeat, stored once. */
  batch?: { stream: string; seq: number };
  points: readonly IngestPoint[];
  logs: readonly IngestLog[];
}

export interface IngestResult {
  /** The batch was stored before (a retry whose answer was lost): nothing was written. */
  duplicate: boolean;
  /** Points stored. */
  stored: number;
  /** Points refused (a new series past the host's cap). */
  rejected: number;
  logs: number;
  /** The caller should write status.telemetry.lastSampleAt now: this process won the once-a-minute slot. */
  lastSampleDue: boolean;
  /** The newest sample time of the host (ms). */
  lastSampleAt?: number;
}

export interface TelemetryStoreOptions {
  /** Series one host may have; points of further series are refused (counted in `rejected`). @default 1000 */
  maxSeriesPerHost?: number;
  /** How often a host's lastSampleAt may be written. @default 60000 */
  lastSampleEveryMs?: number;
  now?: () => number;
}

/** Bytes counted per stored row besides its data (keys, index entries, row headers): see README "Metrics and logs". */
export const SAMPLE_ROW_OVERHEAD = 80;
export const LOG_ROW_OVERHEAD = 96;
export const ROLLUP_ROW_OVERHEAD = 64;

export interface SeriesMeta {
  id: number;
  name: string;
  attrs: Record<string, string>;
  type: SeriesType;
  unit: string;
}

/** A host's row of latest values. */
export interface HostLatest {
  hostId: string;
  project: string;
  lastT: number;
  /** Latest [t, value] per series id. */
  latest: Map<number, [number, number]>;
  headline: Partial<Record<HeadlineMetric, number>>;
}

interface HostRow {
  host_id: string;
  project: string;
  last_t: number;
  status_at: number | null;
  stream: string | null;
  seq: number | null;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  latest: string;
}

interface Prepared {
  batch: IngestBatch;
  /** Series id per point (undefined: refused). */
  ids: (number | undefined)[];
  rejected: number;
}

const HEADLINE_COLUMN: Record<HeadlineMetric, 'cpu' | 'memory' | 'disk'> = { cpu_used_percent: 'cpu', memory_used_percent: 'memory', disk_used_percent: 'disk' };
const CHUNK = 400;
const MAX_CACHED_SERIES = 1_000_000;

/** Canonical text of a series' attributes (sorted keys), its identity in the series table. */
export function attrsKey(attrs: Readonly<Record<string, string>>): string {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return '{}';
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, attrs[k]])));
}

/**
 * Collected samples and log lines (issue 15), in their own tables of the store (never the event
 * log), on SQLite and PostgreSQL alike. Batches of many agents are written through a group commit
 * of their own: one transaction per turn, whatever the number of hosts in it. Everything that
 * decides what users see lives in these tables, so several servers on one database agree: the last
 * batch of each host (a repeat is stored once), its latest values, when its lastSampleAt was written.
 * @example const r = await store.telemetry.ingest({ project: 'default', hostId, points, logs: [] })
 */
export class TelemetryStore {
  private readonly pg: boolean;
  private readonly committer: GroupCommit<Prepared>;
  private readonly maxSeries: number;
  private readonly lastSampleEvery: number;
  readonly now: () => number;
  /** `${hostId}\0${name}\0${attrsKey}` → id and type; hosts whose series are all cached. */
  private readonly seriesIds = new Map<string, number>();
  private readonly seriesCount = new Map<string, number>();
  /** Names this process's rows in eim_tm_usage (each server its own, so no two servers write one row). */
  readonly writer = Math.random().toString(16).slice(2, 10);

  /**
   * @param durability SQLite on a file (WalSync): a group's transaction commits without an fsync on
   * the event loop, and its batches are answered after an fdatasync in the thread pool; the next
   * group gathers meanwhile.
   */
  constructor(
    private readonly db: Kysely<any>,
    dialect: 'sqlite' | 'postgres',
    options: TelemetryStoreOptions = {},
    private readonly durability?: Durability,
  ) {
    this.pg = dialect === 'postgres';
    this.maxSeries = options.maxSeriesPerHost ?? 1000;
    this.lastSampleEvery = options.lastSampleEveryMs ?? 60_000;
    this.now = options.now ?? (() => Date.now());
    this.committer = new GroupCommit((group) => this.commitGroup(group), 256);
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.pg ? 'postgres' : 'sqlite';
  }

  /** The database handle, for maintenance (telemetry-maintenance.ts) and queries. */
  get kysely(): Kysely<any> {
    return this.db;
  }

  /** Stores one batch; resolves once it is committed. */
  async ingest(batch: IngestBatch): Promise<IngestResult> {
    const prepared = await this.prepare(batch);
    return (await this.committer.submit(prepared)) as IngestResult;
  }

  /** Series ids for the batch's points; new series are made (up to the host's cap). */
  private async prepare(batch: IngestBatch): Promise<Prepared> {
    const { hostId, project } = batch;
    if (batch.points.length > 0 && !this.seriesCount.has(hostId)) await this.loadSeries(hostId);
    const ids: (number | undefined)[] = new Array(batch.points.length);
    const fresh = new Map<string, IngestPoint>();
    batch.points.forEach((p, i) => {
      const key = `${hostId}\0${p.name}\0${attrsKey(p.attrs)}`;
      const id = this.seriesIds.get(key);
      ids[i] = id;
      if (id === undefined && !fresh.has(key)) fresh.set(key, p);
    });
    if (fresh.size > 0) {
      const room = Math.max(0, this.maxSeries - (this.seriesCount.get(hostId) ?? 0));
      const make = [...fresh.values()].slice(0, room);
      for (let i = 0; i < make.length; i += CHUNK) {
        const rows = make.slice(i, i + CHUNK).map((p) => sql`(${project}, ${hostId}, ${p.name}, ${attrsKey(p.attrs)}, ${p.type}, ${p.unit})`);
        await sql`insert into eim_tm_series (project, host_id, name, attrs, type, unit) values ${sql.join(rows)} on conflict (host_id, name, attrs) do nothing`.execute(this.db);
      }
      if (make.length > 0) await this.loadSeries(hostId);
      batch.points.forEach((p, i) => {
        if (ids[i] === undefined) ids[i] = this.seriesIds.get(`${hostId}\0${p.name}\0${attrsKey(p.attrs)}`);
      });
    }
    return { batch, ids, rejected: ids.filter((id) => id === undefined).length };
  }

  private async loadSeries(hostId: string): Promise<void> {
    if (this.seriesIds.size > MAX_CACHED_SERIES) {
      this.seriesIds.clear();
      this.seriesCount.clear();
    }
    const { rows } = await sql<{ id: number; name: string; attrs: string }>`select id, name, attrs from eim_tm_series where host_id = ${hostId}`.execute(this.db);
    for (const r of rows) this.seriesIds.set(`${hostId}\0${r.name}\0${r.attrs}`, Number(r.id));
    this.seriesCount.set(hostId, rows.length);
  }

  private async commitGroup(group: Pending<Prepared>[]): Promise<void> {
    const now = this.now();
    let results: IngestResult[] = [];
    await this.db.transaction().execute(async (trx) => {
      this.durability?.defer();
      results = await this.writeGroup(trx, group.map((g) => g.run), now);
    });
    if (this.durability) {
      try {
        await this.durability.sync();
      } catch (e) {
        // Committed and visible, but not known to be on disk: the agent sends the batch again (its
        // sequence number makes a repeat of a stored one a no-op).
        const error = new EimError('internal', `the batch was committed but could not be made durable: ${(e as Error)?.message ?? e}`);
        for (const g of group) g.reject(error);
        return;
      }
    }
    group.forEach((g, i) => g.resolve(results[i]));
  }

  private async writeGroup(trx: Transaction<any>, items: Prepared[], now: number): Promise<IngestResult[]> {
    const hostIds = [...new Set(items.map((p) => p.batch.hostId))];
    // Each host's row first exists, then is locked (PostgreSQL): two servers writing a host's first
    // batch at once meet on that row as on any other, and the second sees the first's seq.
    const projects = new Map(items.map((p) => [p.batch.hostId, p.batch.project]));
    await sql`insert into eim_tm_hosts (host_id, project, last_t, latest) values ${sql.join(hostIds.map((h) => sql`(${h}, ${projects.get(h)}, 0, '{}')`))} on conflict (host_id) do nothing`.execute(trx);
    const lock = this.pg ? sql` for update` : sql``;
    const { rows } = await sql<HostRow>`select * from eim_tm_hosts where host_id in (${sql.join(hostIds)})${lock}`.execute(trx);
    const hosts = new Map<string, { row: HostRow; latest: Record<string, [number, number]> }>();
    for (const r of rows) hosts.set(r.host_id, { row: { ...r, last_t: Number(r.last_t), status_at: r.status_at === null ? null : Number(r.status_at), seq: r.seq === null ? null : Number(r.seq) }, latest: JSON.parse(r.latest) });
    const samples: { host: string; t: number; part: number; data: Buffer }[] = [];
    const logs: IngestLog[][] = [];
    const logRows: ReturnType<typeof sql>[] = [];
    const dirty = new Set<string>();
    const usage = new Map<string, number>();
    const addUsage = (kind: string, t: number, bytes: number) => {
      const k = `${kind}\0${Math.floor(t / 60_000) * 60_000}`;
      usage.set(k, (usage.get(k) ?? 0) + bytes);
    };
    const changed = new Set<string>();
    const results: IngestResult[] = [];
    for (const { batch, ids, rejected } of items) {
      let h = hosts.get(batch.hostId);
      if (!h) {
        h = { row: { host_id: batch.hostId, project: batch.project, last_t: 0, status_at: null, stream: null, seq: null, cpu: null, memory: null, disk: null, latest: '{}' }, latest: {} };
        hosts.set(batch.hostId, h);
      }
      const row = h.row;
      if (batch.batch && row.stream === batch.batch.stream && row.seq !== null && batch.batch.seq <= row.seq) {
        results.push({ duplicate: true, stored: 0, rejected: 0, logs: 0, lastSampleDue: false, lastSampleAt: row.last_t || undefined });
        continue;
      }
      if (batch.batch) {
        row.stream = batch.batch.stream;
        row.seq = batch.batch.seq;
      }
      changed.add(batch.hostId);
      // One row per sample time.
      const byT = new Map<number, [number, number][]>();
      let stored = 0;
      batch.points.forEach((p, i) => {
        const id = ids[i];
        if (id === undefined) return;
        stored++;
        let list = byT.get(p.t);
        if (!list) byT.set(p.t, (list = []));
        list.push([id, p.value]);
        const prev = h.latest[id];
        if (!prev || prev[0] <= p.t) {
          h.latest[id] = [p.t, p.value];
          if ((HEADLINE_METRICS as readonly string[]).includes(p.name)) row[HEADLINE_COLUMN[p.name as HeadlineMetric]] = p.value;
        }
      });
      for (const [t, values] of byT) {
        const data = packSamples(values);
        samples.push({ host: batch.hostId, t, part: Math.min(...values.map((v) => v[0])), data });
        dirty.add(`${batch.hostId}\0${Math.floor(t / 300_000) * 300_000}`);
        addUsage('samples', t, data.length + SAMPLE_ROW_OVERHEAD);
        if (t > row.last_t) row.last_t = t;
      }
      for (const l of batch.logs) {
        const attrs = l.attrs && Object.keys(l.attrs).length > 0 ? JSON.stringify(l.attrs) : null;
        logRows.push(sql`(${batch.project}, ${batch.hostId}, ${l.t}, ${l.severity}, ${l.body}, ${attrs})`);
        addUsage('logs', l.t, Buffer.byteLength(l.body) + (attrs ? Buffer.byteLength(attrs) : 0) + LOG_ROW_OVERHEAD);
      }
      logs.push([...batch.logs]);
      let due = false;
      if (byT.size > 0 && (row.status_at === null || now - row.status_at >= this.lastSampleEvery)) {
        row.status_at = now;
        due = true;
      }
      results.push({ duplicate: false, stored, rejected, logs: batch.logs.length, lastSampleDue: due, lastSampleAt: row.last_t || undefined });
    }
    for (let i = 0; i < samples.length; i += CHUNK) {
      const values = samples.slice(i, i + CHUNK).map((s) => sql`(${s.host}, ${s.t}, ${s.part}, ${s.data})`);
      await sql`insert into eim_tm_samples (host_id, t, part, data) values ${sql.join(values)} on conflict (host_id, t, part) do nothing`.execute(trx);
    }
    for (let i = 0; i < logRows.length; i += CHUNK) {
      await sql`insert into eim_tm_logs (project, host_id, t, severity, body, attrs) values ${sql.join(logRows.slice(i, i + CHUNK))}`.execute(trx);
    }
    const dirtyRows = [...dirty].map((k) => k.split('\0')).map(([h, b]) => sql`(${h}, ${Number(b)})`);
    for (let i = 0; i < dirtyRows.length; i += CHUNK) {
      await sql`insert into eim_tm_dirty (host_id, bucket) values ${sql.join(dirtyRows.slice(i, i + CHUNK))} on conflict (host_id, bucket) do nothing`.execute(trx);
    }
    if (usage.size > 0) {
      const u = [...usage].map(([k, bytes]) => {
        const [kind, minute] = k.split('\0');
        return sql`(${kind}, ${Number(minute)}, ${this.writer}, ${bytes})`;
      });
      await sql`insert into eim_tm_usage (kind, minute, writer, bytes) values ${sql.join(u)} on conflict (kind, minute, writer) do update set bytes = eim_tm_usage.bytes + excluded.bytes`.execute(trx);
    }
    const upserts = [...changed].map((id) => {
      const { row, latest } = hosts.get(id)!;
      return sql`(${row.host_id}, ${row.project}, ${row.last_t}, ${row.status_at}, ${row.stream}, ${row.seq}, ${row.cpu}, ${row.memory}, ${row.disk}, ${JSON.stringify(latest)})`;
    });
    for (let i = 0; i < upserts.length; i += CHUNK) {
      await sql`insert into eim_tm_hosts (host_id, project, last_t, status_at, stream, seq, cpu, memory, disk, latest) values ${sql.join(upserts.slice(i, i + CHUNK))}
        on conflict (host_id) do update set last_t = excluded.last_t, status_at = excluded.status_at, stream = excluded.stream, seq = excluded.seq,
        cpu = excluded.cpu, memory = excluded.memory, disk = excluded.disk, latest = excluded.latest`.execute(trx);
    }
    return results;
  }

  /** The series of a host (optionally only these names), in name order. */
  async series(hostId: string, names?: readonly string[]): Promise<SeriesMeta[]> {
    const byName = names && names.length > 0 ? sql` and name in (${sql.join([...names])})` : sql``;
    const { rows } = await sql<{ id: number; name: string; attrs: string; type: string; unit: string }>`select id, name, attrs, type, unit from eim_tm_series where host_id = ${hostId}${byName} order by name, attrs`.execute(this.db);
    return rows.map((r) => ({ id: Number(r.id), name: r.name, attrs: JSON.parse(r.attrs), type: r.type as SeriesType, unit: r.unit }));
  }

  /** Raw samples of a host in [from, to), in time order: calls `each` per (t, series id, value). */
  async readSamples(hostId: string, from: number, to: number, each: (t: number, id: number, value: number) => void): Promise<void> {
    [from, to] = [clampTime(from), clampTime(to)];
    const { rows } = await sql<{ t: number; data: Uint8Array }>`select t, data from eim_tm_samples where host_id = ${hostId} and t >= ${from} and t < ${to} order by host_id, t`.execute(this.db);
    for (const r of rows) {
      const t = Number(r.t);
      forEachSample(r.data, (id, v) => each(t, id, v));
    }
  }

  /** Rollup rows of a host in [from, to) (bucket start times), in time order. */
  async readRollups(hostId: string, from: number, to: number): Promise<{ bucket: number; data: Uint8Array }[]> {
    [from, to] = [clampTime(from), clampTime(to)];
    const { rows } = await sql<{ bucket: number; data: Uint8Array }>`select bucket, data from eim_tm_rollups where host_id = ${hostId} and bucket >= ${from} and bucket < ${to} order by bucket`.execute(this.db);
    return rows.map((r) => ({ bucket: Number(r.bucket), data: r.data }));
  }

  /** Latest values of these hosts (those that sent anything). */
  async latestOf(hostIds: readonly string[]): Promise<HostLatest[]> {
    if (hostIds.length === 0) return [];
    const out: HostLatest[] = [];
    for (let i = 0; i < hostIds.length; i += 1000) {
      const { rows } = await sql<HostRow>`select * from eim_tm_hosts where host_id in (${sql.join(hostIds.slice(i, i + 1000))})`.execute(this.db);
      for (const r of rows) out.push(toLatest(r));
    }
    return out;
  }

  /**
   * The latest value of metric `name` for a host (the newest among its series of that name, or the
   * series with exactly `attrs`); undefined when the host never sent it. For alert rules.
   * @example await telemetry.latestValue(hostId, 'disk_used_percent') // { t: 1767225600000, value: 91.2 }
   */
  async latestValue(hostId: string, name: string, attrs?: Readonly<Record<string, string>>): Promise<{ t: number; value: number } | undefined> {
    const [row] = await this.latestOf([hostId]);
    if (!row) return undefined;
    const series = (await this.series(hostId, [name])).filter((s) => attrs === undefined || attrsKey(s.attrs) === attrsKey(attrs));
    let best: { t: number; value: number } | undefined;
    for (const s of series) {
      const v = row.latest.get(s.id);
      if (v && (!best || v[0] > best.t)) best = { t: v[0], value: v[1] };
    }
    return best;
  }

  /**
   * The `limit` hosts with the highest headline metric, in one indexed query over the hosts'
   * latest rows; `hostIds` narrows it (a filter's hosts), `since` leaves out hosts silent since.
   * @example await telemetry.topHosts({ project: 'default', metric: 'cpu_used_percent', limit: 10 })
   */
  async topHosts(q: { project: string; metric: HeadlineMetric; limit: number; hostIds?: readonly string[]; since?: number }): Promise<{ rows: HostLatest[]; scanned: number }> {
    const column = sql.ref(HEADLINE_COLUMN[q.metric]);
    const since = q.since !== undefined ? sql` and last_t >= ${q.since}` : sql``;
    if (q.hostIds === undefined) {
      const { rows } = await sql<HostRow>`select * from eim_tm_hosts where project = ${q.project} and ${column} is not null${since} order by ${column} desc, host_id limit ${q.limit}`.execute(this.db);
      const n = await sql<{ n: number }>`select count(*) as n from eim_tm_hosts where project = ${q.project}${since}`.execute(this.db);
      return { rows: rows.map(toLatest), scanned: Number(n.rows[0].n) };
    }
    // A filter's hosts: chunks, then the best of all chunks.
    const best: HostLatest[] = [];
    let scanned = 0;
    for (let i = 0; i < q.hostIds.length; i += 1000) {
      const ids = q.hostIds.slice(i, i + 1000);
      const { rows } = await sql<HostRow>`select * from eim_tm_hosts where project = ${q.project} and host_id in (${sql.join(ids)}) and ${column} is not null${since} order by ${column} desc, host_id limit ${q.limit}`.execute(this.db);
      best.push(...rows.map(toLatest));
      scanned += ids.length;
    }
    best.sort((a, b) => (b.headline[q.metric] ?? 0) - (a.headline[q.metric] ?? 0) || (a.hostId < b.hostId ? -1 : 1));
    return { rows: best.slice(0, q.limit), scanned };
  }

  /**
   * Log lines, newest first: of some hosts (or the whole project), at `minSeverity` or above, at or
   * after `since`, before the `before` position (paging), whose body contains `q` literally
   * (case-sensitive; a parameter, never pattern text). With `afterSeq`: the lines stored after
   * that position instead, in the order they were stored (what `eim logs --follow` asks for:
   * a late line from an agent's buffer is stored after, whatever its time says).
   */
  async logs(q: {
    project: string;
    hostIds?: readonly string[];
    since?: number;
    minSeverity?: number;
    text?: string;
    before?: { t: number; seq: number };
    afterSeq?: number;
    /** With afterSeq: no line stored after this position (logsPosition read before). */
    upToSeq?: number;
    limit: number;
  }): Promise<{ seq: number; hostId: string; t: number; severity: number; body: string; attrs?: Record<string, string> }[]> {
    const where = this.logsWhere(q);
    if (q.afterSeq !== undefined) where.push(sql`seq > ${q.afterSeq}`);
    if (q.upToSeq !== undefined) where.push(sql`seq <= ${q.upToSeq}`);
    if (q.minSeverity !== undefined) where.push(sql`severity >= ${q.minSeverity}`);
    if (q.text) where.push(this.pg ? sql`strpos(body, ${q.text}) > 0` : sql`instr(body, ${q.text}) > 0`);
    if (q.before) where.push(sql`(t < ${q.before.t} or (t = ${q.before.t} and seq < ${q.before.seq}))`);
    const order = q.afterSeq !== undefined ? sql`seq asc` : sql`t desc, seq desc`;
    const { rows } = await sql<{ seq: number; host_id: string; t: number; severity: number; body: string; attrs: string | null }>`select seq, host_id, t, severity, body, attrs from eim_tm_logs where ${sql.join(where, sql` and `)} order by ${order} limit ${q.limit}`.execute(this.db);
    return rows.map((r) => ({ seq: Number(r.seq), hostId: r.host_id, t: Number(r.t), severity: Number(r.severity), body: r.body, ...(r.attrs ? { attrs: JSON.parse(r.attrs) } : {}) }));
  }

  /**
   * The position of the last line stored of some hosts (or the whole project), 0 when none: `logs`
   * with it as `afterSeq` answers only lines stored later. Per host, not of the whole table: on
   * PostgreSQL another host's line can take a higher position and commit before one of these
   * hosts' (one agent sends one batch at a time, so its own lines commit in order).
   */
  async logsPosition(q: { project: string; hostIds?: readonly string[] }): Promise<number> {
    const { rows } = await sql<{ seq: number | null }>`select max(seq) as seq from eim_tm_logs where ${sql.join(this.logsWhere(q), sql` and `)}`.execute(this.db);
    return Number(rows[0]?.seq ?? 0);
  }

  private logsWhere(q: { project: string; hostIds?: readonly string[]; since?: number }) {
    const where = [sql`project = ${q.project}`];
    if (q.hostIds) where.push(q.hostIds.length === 0 ? sql`1 = 0` : sql`host_id in (${sql.join([...q.hostIds])})`);
    if (q.since !== undefined) where.push(sql`t >= ${q.since}`);
    return where;
  }

  /** Forgets cached series of hosts (their rows were removed). */
  forgetHosts(hostIds: readonly string[]): void {
    const gone = new Set(hostIds);
    for (const k of this.seriesIds.keys()) if (gone.has(k.slice(0, k.indexOf('\0')))) this.seriesIds.delete(k);
    for (const h of hostIds) this.seriesCount.delete(h);
  }
}

/** Times are 64-bit integers in the database: ±Infinity (open ranges) become the largest safe ones. */
const clampTime = (t: number) => Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(t)));

function toLatest(r: HostRow): HostLatest {
  const latest = new Map<number, [number, number]>();
  for (const [id, v] of Object.entries(JSON.parse(r.latest) as Record<string, [number, number]>)) latest.set(Number(id), v);
  const headline: Partial<Record<HeadlineMetric, number>> = {};
  if (r.cpu !== null) headline.cpu_used_percent = Number(r.cpu);
  if (r.memory !== null) headline.memory_used_percent = Number(r.memory);
  if (r.disk !== null) headline.disk_used_percent = Number(r.disk);
  return { hostId: r.host_id, project: r.project, lastT: Number(r.last_t), latest, headline };
}
