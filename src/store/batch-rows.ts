import { CompiledQuery, type Kysely } from 'kysely';
import type { Resource } from '../api/index.ts';
import type { Database } from './schema.ts';
import type { HostIdentity, HostIdentityMatch, IdentityLookup, NameClaim } from './store.ts';

/** The hosts holding any of these uuids (lower case) or serial numbers in a project, as stored. */
export type IdentityQuery = (project: string, uuids: string[], serials: string[]) => Promise<{ id: string; name: string; uuid: string | null; serial: string | null }[]>;

const identityKey = (project: string, field: 'u' | 's', value: string) => `${project}\u0000${field}\u0000${value}`;

/** The rows holding any of these names, as stored (index i of each array is one name). */
export type NameQuery = (projects: string[], kinds: string[], names: string[]) => Promise<{ id: string; project: string; kind: string; name: string }[]>;

const nameKey = (project: string, kind: string, name: string) => `${project}\u0000${kind}\u0000${name}`;

/** A reference row (eim_refs) as the store writes it. */
export interface RefRow {
  from_id: string;
  to_id: string;
  project: string;
  owner: number;
}

/** A resource row as the store writes it (JSON columns as text). */
export interface StoredRow {
  id: string;
  project: string;
  kind: string;
  name: string;
  labels: string;
  spec: string;
  status: string;
  inherited_labels: string;
  host_category: string | null;
  size_bytes: number;
  revision: number;
  generation: number;
  created_at: string;
  updated_at: string;
}

/** Rows per multi-row statement: 14 parameters each, well inside both databases' limits. */
const CHUNK = 500;

/** The columns of a resource row, in a fixed order. */
export const RESOURCE_COLUMNS = ['id', 'project', 'kind', 'name', 'labels', 'spec', 'status', 'inherited_labels', 'host_category', 'size_bytes', 'revision', 'generation', 'created_at', 'updated_at'] as const satisfies readonly (keyof StoredRow)[];
export const REF_COLUMNS = ['from_id', 'to_id', 'project', 'owner'] as const satisfies readonly (keyof RefRow)[];

/** Multi-row statements' text, by dialect, table, columns, row count and update list (a few dozen shapes in practice). */
const statementText = new Map<string, string>();

/**
 * A multi-row insert of `n` rows (with `update`: an upsert on id that sets those columns) as SQL
 * text: the names are the fixed column lists above, every value a parameter. Built once per shape:
 * Kysely's builder, run for every flush, cost more than the statements on SQLite.
 */
export function rowsStatement(dialect: 'sqlite' | 'postgres', table: 'eim_resources' | 'eim_refs', columns: readonly string[], n: number, update?: readonly string[]): string {
  const key = `${dialect}|${table}|${columns.join()}|${n}|${update?.join() ?? ''}`;
  let text = statementText.get(key);
  if (text === undefined) {
    let p = 0;
    const param = dialect === 'postgres' ? () => `$${++p}` : () => '?';
    const tuples = Array.from({ length: n }, () => `(${columns.map(param).join(', ')})`);
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}`;
    if (update) text += ` on conflict ("id") do update set ${update.map((c) => `"${c}" = "excluded"."${c}"`).join(', ')}`;
    if (statementText.size >= 256) statementText.clear();
    statementText.set(key, text);
  }
  return text;
}

/**
 * The resource rows one commit (a batch of writes under one revision lock) reads and writes, so a
 * batch of N status writes costs two statements instead of 2N round trips:
 *
 * - the rows its writes said they would read (`Store.write`'s `reads`) are read at once, after the
 *   lock (nobody else writes meanwhile), and handed out as often as they are asked for (every change
 *   the batch makes to one is in what it wrote, which a read sees instead); a row a get had to read
 *   from the database is kept the same way;
 * - plain updates (no reference changed) are kept here and written together, as one multi-row
 *   upsert per 500, before any other statement of the batch and before it commits, so every read
 *   the batch makes sees them;
 * - a row this batch wrote is read back from here, fresh (parsed again) for every reader;
 * - creates whose names were read ahead as free (`claimNames`) are kept here too, with their
 *   references, and written as one multi-row insert per 500 at the same flush. Nobody else writes
 *   under the lock, so the insert cannot meet a taken name; if it fails anyway (a random id that is
 *   taken), the flush fails the batch and its writes are retried one by one, each in its own
 *   statement.
 */
export class BatchRows {
  private readonly prefetched = new Map<string, unknown | null>();
  /**
   * The row as the database holds it now, where this batch knows it (read, or written by a
   * statement): an update then sets only the columns that changed, so SQLite leaves the indexes
   * of the others alone (it maintains an index when the SET list names one of its columns).
   */
  private readonly stored = new Map<string, Readonly<Record<string, unknown>>>();
  /** Rows of `prefetched` handed out once already. */
  private readonly handedOut = new Set<string>();
  /** Rows written in this batch (null: removed), newest state. */
  private readonly written = new Map<string, StoredRow | null>();
  private readonly pending = new Set<string>();
  /** Rows known to exist now, under the lock: read by this batch (and not removed since) or written by it. */
  private readonly present = new Set<string>();
  /** A flush that failed: the batch must not commit, whoever saw the error. */
  private failure?: unknown;
  /** Host identities read ahead (identityKey), and the hosts that held any of them then. */
  private readonly identitiesRead = new Set<string>();
  private readonly identityHosts = new Map<string, HostIdentityMatch & { project: string }>();
  /** The Hosts this batch wrote, by id, with their identity (parsed when a lookup first needs it). */
  private readonly writtenHosts = new Map<string, HostIdentityMatch & { project: string }>();
  /** Host rows written since the last lookup, not yet indexed: most batches never look one up. */
  private readonly unindexed = new Map<string, StoredRow | null>();
  /** Host ids by identity key (identityKey), of the hosts read ahead and written: a lookup reads only its candidates. */
  private readonly byIdentity = new Map<string, Set<string>>();
  /** Names read ahead (nameKey): the id holding each then, or null when it was free. */
  private readonly namesRead = new Map<string, string | null>();
  /** Names held by a row this batch wrote (at any point): no longer known free. */
  private readonly namesWritten = new Set<string>();
  /** Creates kept for the next flush, by id (their newest state is in `written`). */
  private readonly inserts = new Set<string>();
  /** Reference rows of those creates. */
  private refs: RefRow[] = [];

  /**
   * `narrowUpdates`: updates set only the columns that changed (SQLite, which maintains an index
   * whenever its SET list names one of its columns; PostgreSQL decides by value, and one upsert
   * per batch saves it round trips).
   */
  private readonly narrowUpdates: boolean;

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {
    this.narrowUpdates = dialect === 'sqlite';
  }

  /** Reads these rows together (ids not found are remembered as absent). */
  async prefetch(ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)].filter((id) => !this.prefetched.has(id));
    for (let i = 0; i < unique.length; i += CHUNK) {
      const part = unique.slice(i, i + CHUNK);
      const rows = await this.trx.selectFrom('eim_resources').selectAll().where('id', 'in', part).execute();
      for (const id of part) this.prefetched.set(id, null);
      for (const r of rows) {
        this.prefetched.set(r.id as string, r);
        this.remember(r.id as string, r);
      }
    }
  }

  /**
   * Reads the hosts holding any of these identities, per project in one statement (under the lock),
   * so the batch's Host creates check their uuid and serial number without a round trip each.
   */
  async prefetchIdentities(lookups: readonly IdentityLookup[], query: IdentityQuery): Promise<void> {
    const byProject = new Map<string, { uuids: Set<string>; serials: Set<string> }>();
    for (const l of lookups) {
      const p = byProject.get(l.project) ?? { uuids: new Set<string>(), serials: new Set<string>() };
      if (l.uuid !== undefined && !this.identitiesRead.has(identityKey(l.project, 'u', l.uuid))) p.uuids.add(l.uuid);
      if (l.serialNumber !== undefined && !this.identitiesRead.has(identityKey(l.project, 's', l.serialNumber))) p.serials.add(l.serialNumber);
      byProject.set(l.project, p);
    }
    for (const [project, { uuids, serials }] of byProject) {
      const u = [...uuids];
      const s = [...serials];
      for (let i = 0; i < Math.max(u.length, s.length); i += CHUNK) {
        const part = { u: u.slice(i, i + CHUNK), s: s.slice(i, i + CHUNK) };
        for (const r of await query(project, part.u, part.s)) {
          const h = { project, id: r.id, name: r.name, ...(r.uuid !== null ? { uuid: r.uuid } : {}), ...(r.serial !== null ? { serialNumber: r.serial } : {}) };
          this.identityHosts.set(r.id, h);
          this.index(h);
        }
        for (const x of part.u) this.identitiesRead.add(identityKey(project, 'u', x));
        for (const x of part.s) this.identitiesRead.add(identityKey(project, 's', x));
      }
    }
  }

  /** Reads which rows hold these names now (under the lock): creates of names read free need no statement of their own. */
  async claimNames(claims: readonly NameClaim[], query: NameQuery): Promise<void> {
    const unique = new Map<string, NameClaim>();
    for (const c of claims) {
      const key = nameKey(c.project, c.kind, c.name);
      if (!this.namesRead.has(key)) unique.set(key, c);
    }
    const all = [...unique];
    for (let i = 0; i < all.length; i += CHUNK) {
      const part = all.slice(i, i + CHUNK);
      for (const [key] of part) this.namesRead.set(key, null);
      const rows = await query(
        part.map(([, c]) => c.project),
        part.map(([, c]) => c.kind),
        part.map(([, c]) => c.name),
      );
      for (const r of rows) this.namesRead.set(nameKey(r.project, r.kind, r.name), r.id);
    }
  }

  /**
   * Keeps a create for the next flush, when its name was read free and no write of this batch has
   * touched that name since, and its id is not one this batch knows to exist: false otherwise, and
   * the caller inserts it at once (a statement that checks).
   */
  deferInsert(row: StoredRow, refs: readonly RefRow[]): boolean {
    const key = nameKey(row.project, row.kind, row.name);
    if (this.namesRead.get(key) !== null || this.namesWritten.has(key)) return false;
    // An id this batch wrote (or removed) or read as existing; any other is a fresh random one.
    if (this.written.has(row.id) || this.prefetched.get(row.id)) return false;
    this.written.set(row.id, row);
    this.present.add(row.id);
    this.noteHost(row.id, row);
    this.tookName(row);
    this.inserts.add(row.id);
    for (const r of refs) this.refs.push(r);
    return true;
  }

  /**
   * Hosts of the project holding (part of) this identity now, from what the batch read ahead and
   * what it wrote since (its own Host writes win over what was read); undefined when the identity
   * was not read ahead (ask the database).
   */
  hostsByIdentity(project: string, identity: HostIdentity, limit: number): HostIdentityMatch[] | undefined {
    if (identity.uuid === undefined && identity.serialNumber === undefined) return [];
    if (identity.uuid !== undefined && !this.identitiesRead.has(identityKey(project, 'u', identity.uuid))) return undefined;
    if (identity.serialNumber !== undefined && !this.identitiesRead.has(identityKey(project, 's', identity.serialNumber))) return undefined;
    this.indexWritten();
    const holds = (h: HostIdentityMatch) => (identity.uuid !== undefined && h.uuid === identity.uuid) || (identity.serialNumber !== undefined && h.serialNumber === identity.serialNumber);
    const candidates = new Set([
      ...(identity.uuid !== undefined ? (this.byIdentity.get(identityKey(project, 'u', identity.uuid)) ?? []) : []),
      ...(identity.serialNumber !== undefined ? (this.byIdentity.get(identityKey(project, 's', identity.serialNumber)) ?? []) : []),
    ]);
    const out = new Map<string, HostIdentityMatch>();
    for (const id of candidates) {
      // The batch's own write of a host wins over what was read of it (and a removed host holds nothing).
      const h = this.written.has(id) ? this.writtenHosts.get(id) : this.identityHosts.get(id);
      if (h && h.project === project && holds(h)) out.set(id, { id, name: h.name, ...(h.uuid !== undefined ? { uuid: h.uuid } : {}), ...(h.serialNumber !== undefined ? { serialNumber: h.serialNumber } : {}) });
    }
    return [...out.values()].slice(0, limit);
  }

  /**
   * What this batch knows of a row: `{ written }` (a row it wrote, or null when it removed it),
   * `{ row }` (read under the lock, ahead or by an earlier get: the database row, as often as it is
   * asked for, since every change the batch makes to it is in `written`; null when absent), or
   * undefined (ask the database).
   */
  take(id: string): { written: StoredRow | null } | { row: unknown | null } | undefined {
    if (this.written.has(id)) return { written: this.written.get(id)! };
    if (!this.prefetched.has(id)) return undefined;
    const row = this.prefetched.get(id)!;
    if (!row) return { row };
    this.present.add(id);
    // On PostgreSQL a row's JSON columns are objects: a second reader gets its own copy.
    if (this.handedOut.has(id)) return { row: structuredClone(row) };
    this.handedOut.add(id);
    return { row };
  }

  /**
   * The project and kind of a row this batch wrote or read ahead (null: it is gone, or was not
   * there), with no copy of it; undefined when the batch does not know (ask the database).
   */
  placeOf(id: string): { project: string; kind: string } | null | undefined {
    const row = this.written.has(id) ? this.written.get(id) : this.prefetched.get(id);
    if (row === undefined) return undefined;
    if (row === null) return null;
    const { project, kind } = row as { project: string; kind: string };
    return { project, kind };
  }

  /** The database had this row when this batch read it (under the lock): later reads of it need not ask again. */
  seen(id: string, row: unknown): void {
    this.present.add(id);
    this.remember(id, row as Record<string, unknown>);
    this.prefetched.set(id, row);
    this.handedOut.add(id);
  }

  /**
   * Keeps a plain update for the next flush, when the row is known to exist (the upsert must never
   * bring back a row that is gone): false when it is not, and the caller updates it at once.
   */
  defer(row: StoredRow): boolean {
    if (!this.present.has(row.id)) return false;
    this.written.set(row.id, row);
    this.tookName(row);
    this.noteHost(row.id, row);
    this.pending.add(row.id);
    return true;
  }

  /** A row written (or removed: null) by a statement of its own. */
  wrote(id: string, row: StoredRow | null): void {
    this.written.set(id, row);
    if (row) {
      this.remember(id, row);
      this.tookName(row);
    } else {
      this.stored.delete(id);
    }
    this.noteHost(id, row);
    this.pending.delete(id);
    if (row) this.present.add(id);
    else this.present.delete(id);
  }

  /** The database holds this row now (kept only where updates are narrowed to what changed). */
  private remember(id: string, row: StoredRow | Readonly<Record<string, unknown>>): void {
    if (this.narrowUpdates) this.stored.set(id, row as Readonly<Record<string, unknown>>);
  }

  /** A row of this batch holds this name now: a create of it is no longer known to be free (only creates of claimed names are kept). */
  private tookName(row: StoredRow): void {
    if (this.namesRead.size > 0) this.namesWritten.add(nameKey(row.project, row.kind, row.name));
  }

  /** A written row, if it is (or was) a Host: its identity is indexed when a lookup needs it. */
  private noteHost(id: string, row: StoredRow | null): void {
    if (row?.kind === 'Host' || this.writtenHosts.has(id) || this.unindexed.has(id)) this.unindexed.set(id, row);
  }

  /** Indexes the Host rows written since the last lookup. */
  private indexWritten(): void {
    for (const [id, row] of this.unindexed) this.indexHost(id, row);
    this.unindexed.clear();
  }

  private indexHost(id: string, row: StoredRow | null): void {
    if (!row || row.kind !== 'Host') {
      this.writtenHosts.delete(id);
      return;
    }
    const spec = JSON.parse(row.spec) as { uuid?: unknown; serialNumber?: unknown };
    const h = { project: row.project, id, name: row.name, ...(typeof spec.uuid === 'string' ? { uuid: spec.uuid.toLowerCase() } : {}), ...(typeof spec.serialNumber === 'string' ? { serialNumber: spec.serialNumber } : {}) };
    this.writtenHosts.set(id, h);
    this.index(h);
  }

  private index(h: HostIdentityMatch & { project: string }): void {
    const add = (key: string) => {
      const ids = this.byIdentity.get(key) ?? new Set<string>();
      ids.add(h.id);
      this.byIdentity.set(key, ids);
    };
    if (h.uuid !== undefined) add(identityKey(h.project, 'u', h.uuid));
    if (h.serialNumber !== undefined) add(identityKey(h.project, 's', h.serialNumber));
  }

  /**
   * Throws the error of a flush that failed, even when the write that met it turned it into a
   * refusal of its own: the batch then fails as a whole and its writes are retried one by one.
   */
  assertFlushed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Writes what is kept: the creates (each in its newest state) and their references as multi-row
   * inserts, then the updates as one upsert per 500 rows (the rows exist: it updates them).
   */
  async flush(): Promise<void> {
    this.assertFlushed();
    if (this.pending.size === 0 && this.inserts.size === 0) return;
    // Every statement is started before any answer is awaited, in order: on PostgreSQL they go out
    // together (and the batch's COMMIT may follow them at once), on SQLite they run as started.
    const statements: Promise<void>[] = [];
    if (this.inserts.size > 0) {
      const rows = [...this.inserts].map((id) => this.written.get(id)!);
      for (let i = 0; i < rows.length; i += CHUNK) statements.push(this.insertRows('eim_resources', RESOURCE_COLUMNS, rows.slice(i, i + CHUNK)));
      for (let i = 0; i < this.refs.length; i += 4 * CHUNK) statements.push(this.insertRows('eim_refs', REF_COLUMNS, this.refs.slice(i, i + 4 * CHUNK)));
    }
    const updates = [...this.pending].filter((id) => !this.inserts.has(id)).map((id) => this.written.get(id)!);
    // Grouped by the columns that changed: one upsert per group (and per 500 rows).
    const groups = new Map<string, { columns: UpdatableColumn[]; rows: StoredRow[] }>();
    for (const row of updates) {
      const columns = this.changedColumns(row);
      const key = columns.join();
      const g = groups.get(key) ?? { columns, rows: [] };
      g.rows.push(row);
      groups.set(key, g);
    }
    for (const g of groups.values()) for (let i = 0; i < g.rows.length; i += CHUNK) statements.push(this.insertRows('eim_resources', RESOURCE_COLUMNS, g.rows.slice(i, i + CHUNK), g.columns));
    try {
      // All settled before a failure is thrown: none is still running when the batch ends.
      const settled = await Promise.allSettled(statements);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (e) {
      this.failure = e;
      throw e;
    }
    for (const id of [...this.inserts, ...this.pending]) this.remember(id, this.written.get(id)!);
    this.inserts.clear();
    this.refs = [];
    this.pending.clear();
  }

  /**
   * The columns an update of this row must set: with `narrowUpdates`, those always changing
   * (status, revision, generation, updated_at) and those that differ from the row as the database
   * holds it now, compared as text; otherwise (or when that row is not known) every column.
   */
  private changedColumns(row: StoredRow): UpdatableColumn[] {
    const db = this.stored.get(row.id); // only kept with narrowUpdates
    if (!db) return UPDATABLE;
    return UPDATABLE.filter((c) => ALWAYS_SET.has(c) || (db[c] ?? null) !== (row[c] ?? null));
  }

  /** Starts the statement when called (not after a turn): see flush(). */
  private insertRows<R extends object>(table: 'eim_resources' | 'eim_refs', columns: readonly (keyof R & string)[], rows: readonly R[], update?: readonly string[]): Promise<void> {
    const values: unknown[] = [];
    for (const r of rows) for (const c of columns) values.push(r[c]);
    return this.trx.executeQuery(CompiledQuery.raw(rowsStatement(this.dialect, table, columns, rows.length, update), values)).then(() => undefined);
  }
}

/** The columns an update may change (id and created_at never do), in a fixed order. */
const UPDATABLE: UpdatableColumn[] = ['project', 'kind', 'name', 'labels', 'spec', 'status', 'inherited_labels', 'host_category', 'size_bytes', 'revision', 'generation', 'updated_at'];
type UpdatableColumn = Exclude<keyof StoredRow, 'id' | 'created_at'>;
/** Set by every update: no index of SQLite's holds them. */
const ALWAYS_SET: ReadonlySet<UpdatableColumn> = new Set(['status', 'revision', 'generation', 'updated_at']);

/** A resource from a row this batch wrote: parsed afresh, so no two readers share its objects. */
export function resourceOfStored(row: StoredRow): Resource {
  return {
    kind: row.kind,
    id: row.id,
    project: row.project,
    name: row.name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    revision: row.revision,
    generation: row.generation,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    status: JSON.parse(row.status) as Record<string, unknown>,
  };
}
