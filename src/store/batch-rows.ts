import type { Transaction } from 'kysely';
import type { Resource } from '../api/index.ts';
import type { Database } from './schema.ts';

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
  revision: number;
  generation: number;
  created_at: string;
  updated_at: string;
}

/** Rows per multi-row statement: 13 parameters each, well inside both databases' limits. */
const CHUNK = 500;

/**
 * The resource rows one commit (a batch of writes under one revision lock) reads and writes, so a
 * batch of N status writes costs two statements instead of 2N round trips:
 *
 * - the rows its writes said they would read (`Store.write`'s `reads`) are read at once, after the
 *   lock (nobody else writes meanwhile), and each is handed out once (a second read of it goes to
 *   the database, or to what this batch wrote);
 * - plain updates (no reference changed) are kept here and written together, as one multi-row
 *   upsert per 500, before any other statement of the batch and before it commits, so every read
 *   the batch makes sees them;
 * - a row this batch wrote is read back from here, fresh (parsed again) for every reader.
 */
export class BatchRows {
  private readonly prefetched = new Map<string, unknown | null>();
  /** Rows written in this batch (null: removed), newest state. */
  private readonly written = new Map<string, StoredRow | null>();
  private readonly pending = new Set<string>();
  /** Rows known to exist now, under the lock: read by this batch (and not removed since) or written by it. */
  private readonly present = new Set<string>();
  /** A flush that failed: the batch must not commit, whoever saw the error. */
  private failure?: unknown;

  constructor(private readonly trx: Transaction<Database>) {}

  /** Reads these rows together (ids not found are remembered as absent). */
  async prefetch(ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)].filter((id) => !this.prefetched.has(id));
    for (let i = 0; i < unique.length; i += CHUNK) {
      const part = unique.slice(i, i + CHUNK);
      const rows = await this.trx.selectFrom('eim_resources').selectAll().where('id', 'in', part).execute();
      for (const id of part) this.prefetched.set(id, null);
      for (const r of rows) this.prefetched.set(r.id as string, r);
    }
  }

  /**
   * What this batch knows of a row: `{ written }` (a row it wrote, or null when it removed it),
   * `{ row }` (read ahead: the database row, handed out once; null when absent), or undefined
   * (ask the database).
   */
  take(id: string): { written: StoredRow | null } | { row: unknown | null } | undefined {
    if (this.written.has(id)) return { written: this.written.get(id)! };
    if (!this.prefetched.has(id)) return undefined;
    const row = this.prefetched.get(id)!;
    this.prefetched.delete(id);
    if (row) this.present.add(id);
    return { row };
  }

  /** The database had this row when this batch read it (under the lock). */
  seen(id: string): void {
    this.present.add(id);
  }

  /**
   * Keeps a plain update for the next flush, when the row is known to exist (the upsert must never
   * bring back a row that is gone): false when it is not, and the caller updates it at once.
   */
  defer(row: StoredRow): boolean {
    if (!this.present.has(row.id)) return false;
    this.written.set(row.id, row);
    this.pending.add(row.id);
    return true;
  }

  /** A row written (or removed: null) by a statement of its own. */
  wrote(id: string, row: StoredRow | null): void {
    this.written.set(id, row);
    this.pending.delete(id);
    if (row) this.present.add(id);
    else this.present.delete(id);
  }

  /**
   * Throws the error of a flush that failed, even when the write that met it turned it into a
   * refusal of its own: the batch then fails as a whole and its writes are retried one by one.
   */
  assertFlushed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Writes the deferred updates: one upsert per 500 rows (the rows exist: it updates them). */
  async flush(): Promise<void> {
    this.assertFlushed();
    if (this.pending.size === 0) return;
    try {
      await this.upsert([...this.pending].map((id) => this.written.get(id)!));
    } catch (e) {
      this.failure = e;
      throw e;
    }
    this.pending.clear();
  }

  private async upsert(rows: StoredRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.trx
        .insertInto('eim_resources')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            project: eb.ref('excluded.project'),
            kind: eb.ref('excluded.kind'),
            name: eb.ref('excluded.name'),
            labels: eb.ref('excluded.labels'),
            spec: eb.ref('excluded.spec'),
            status: eb.ref('excluded.status'),
            inherited_labels: eb.ref('excluded.inherited_labels'),
            host_category: eb.ref('excluded.host_category'),
            revision: eb.ref('excluded.revision'),
            generation: eb.ref('excluded.generation'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
  }
}

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
