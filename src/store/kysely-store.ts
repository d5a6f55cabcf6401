import { CompiledQuery, type Kysely, sql, type Transaction } from 'kysely';
import type { FilterNode } from '../api/filter.ts';
import { EimError, extractRefs, hostCategory, isEimError, kindById, kindByName, MAX_RESOURCE_BYTES, type Resource, serializedJsonProblem } from '../api/index.ts';
import { AuthStore, insertTokenRow, type TokenRecord } from './auth-store.ts';
import { TelemetryStore, type TelemetryStoreOptions } from './telemetry-store.ts';
import { LeaseStore } from './lease-store.ts';
import type { DialectAdapter } from './dialect-adapter.ts';
import { type CountByQuery, type CountRow, countBy } from './count-by.ts';
import { compileFilter, compileOrderBy } from './filter-sql.ts';
import { hostsBySite } from './hosts-by-site.ts';
import { BatchRows, REF_COLUMNS, RESOURCE_COLUMNS, type RefRow, resourceOfStored, rowsStatement } from './batch-rows.ts';
import { GroupCommit, type Pending } from './group-commit.ts';
import type { Database } from './schema.ts';
import { readListPage, rowsThatFit } from './list-page.ts';
import { eventJson, type EventQuery, LIST_PAGE_BYTES, type HostIdentity, type HostIdentityMatch, type ListQuery, type ListResult, type LoggedEvent, type Mutation, type RetentionOptions, type Store, type WriteOptions, type WriteTx } from './store.ts';

type Row = Database['eim_resources'] extends infer R ? { [K in keyof R]: unknown } : never;

export interface KyselyStoreOptions {
  /** Most writes one commit takes. @default 512 */
  maxBatch?: number;
  /**
   * The largest resource a write may store: name, labels, spec and status as JSON, in UTF-8 bytes.
   * Larger is `payload_too_large`. @default MAX_RESOURCE_BYTES (256 KiB)
   */
  maxResourceBytes?: number;
  /**
   * @internal For bench:inventory's baseline only: store without the checks of `toRow` (text a
   * store cannot hold, the byte limit), to measure what they cost. Never in a server.
   * @default false
   */
  unbounded?: boolean;
  now?: () => Date;
  /** Collected samples and logs (series cap per host, …). @default {} */
  telemetry?: TelemetryStoreOptions;
}

/**
 * The store over Kysely, shared by SQLite and PostgreSQL; the adapter holds the differences.
 * Writes go through group commit: one transaction, one revision lock and one fsync per batch,
 * each write in its own savepoint so one refusal does not undo its neighbours.
 */
export class KyselyStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly auth: AuthStore;
  readonly telemetry: TelemetryStore;
  readonly leases: LeaseStore;
  private readonly committer: GroupCommit<{ run: Mutation<unknown> } & WriteOptions>;
  private readonly commitListeners: ((events: LoggedEvent[]) => void)[] = [];
  private readonly remoteListeners: ((revision?: number) => void)[] = [];
  private unlisten?: () => Promise<void>;
  private readonly now: () => Date;
  private readonly maxResourceBytes: number;
  private readonly unbounded: boolean;
  /** The revision of this process's last commit (undefined until its first). */
  private committed?: number;
  /** Resources this process created since the table's statistics were last refreshed (adapter.analyze). */
  private createdSinceAnalyze = 0;
  /** Resources this process had created by that refresh (it asks again after 20 % more, at least 1,000). */
  private createdAtAnalyze = 0;
  private analyzing?: Promise<void>;
  /** Revisions this process's commits notify of (PostgreSQL), until their notice comes back. */
  private readonly ownNotices = new Set<number>();
  /** The last batch's acknowledgement after its sync (adapters with separate durability). */
  private acknowledged: Promise<void> = Promise.resolve();

  constructor(
    readonly db: Kysely<Database>,
    private readonly adapter: DialectAdapter,
    options: KyselyStoreOptions = {},
  ) {
    this.dialect = adapter.name;
    this.auth = new AuthStore(db, adapter.name);
    this.telemetry = new TelemetryStore(db, adapter.name, options.telemetry, adapter.durability);
    this.leases = new LeaseStore(db, adapter.name);
    this.now = options.now ?? (() => new Date());
    this.maxResourceBytes = options.maxResourceBytes ?? MAX_RESOURCE_BYTES;
    this.unbounded = options.unbounded ?? false;
    this.committer = new GroupCommit((batch) => this.commitBatch(batch), options.maxBatch ?? 512);
  }

  /** Starts listening for other processes' commits (PostgreSQL). */
  async start(): Promise<void> {
    this.unlisten = await this.adapter.listen((revision) => {
      if (revision !== undefined) {
        // Notices come in commit order: one of ours older than this one will not come any more
        // (the listening connection was lost meanwhile, say).
        for (const own of this.ownNotices) if (own < revision) this.ownNotices.delete(own);
        // Our own commit: its events reach the listeners from the commit itself, and a watch hub
        // woken by it would read them back from the log (three statements, after most commits).
        if (this.ownNotices.delete(revision)) return;
      }
      for (const l of this.remoteListeners) l(revision);
    });
  }

  write<T>(mutation: Mutation<T>, options: WriteOptions = {}): Promise<T> {
    return this.committer.submit({ ...options, run: mutation as Mutation<unknown> }) as Promise<T>;
  }

  private async commitBatch(batch: Pending<{ run: Mutation<unknown> } & WriteOptions>[]): Promise<void> {
    const results: { ok: boolean; value: unknown }[] = [];
    const events: LoggedEvent[] = [];
    /** The revision this commit's NOTIFY carries (PostgreSQL), once it writes it. */
    let notice: number | undefined;
    /** Set when the body has done its part and the COMMIT is sent next: only then may a failure hide a commit. */
    let committing = false;
    const body = async (trx: Kysely<Database>, locked: Promise<number>, commit?: () => Promise<unknown>, leaderEpoch?: Promise<number>) => {
      // Under the lock: what the batch's writes will read, in one statement.
      const rows = new BatchRows(trx, this.dialect);
      const reads: Promise<unknown>[] = [locked];
      if (batch.length > 1) {
        reads.push(rows.prefetch(batch.flatMap((item) => item.run.reads ?? [])));
        // PostgreSQL only: it saves a round trip per Host create there, while SQLite answers each
        // lookup from its index in microseconds (and plans an IN list over it badly).
        if (this.dialect === 'postgres') {
          reads.push(rows.prefetchIdentities(batch.flatMap((item) => item.run.identities ?? []), (project, uuids, serials) => hostsHoldingAny(trx, project, uuids, serials)));
          // Creates of names read free here are inserted together at the end, in one statement.
          reads.push(rows.claimNames(batch.flatMap((item) => item.run.creates ?? []), (projects, kinds, names) => namesHeld(trx, projects, kinds, names)));
        }
      }
      await settled(reads);
      let revision = await locked;
      const epoch = await leaderEpoch;
      const at = this.now().toISOString();
      for (const item of batch) {
        if (item.run.fence !== undefined && epoch !== undefined && item.run.fence !== epoch) {
          // Made for a holder of the managers lock that another server has taken over from (it has
          // not noticed yet, or was frozen meanwhile): refused, so two never write as managers at once.
          results.push({ ok: false, value: new EimError('unavailable', `this server no longer runs the managers (its lock was taken over: epoch ${item.run.fence}, now ${epoch}); the write was not made`) });
          continue;
        }
        const mark = revision;
        const tx = new KyselyWriteTx(trx, this.adapter, at, { peek: () => revision + 1, take: () => ++revision }, events, this.maxResourceBytes, this.unbounded, rows);
        try {
          results.push({ ok: true, value: await item.run.run(tx) });
        } catch (e) {
          // Mutations check everything before they write, so a refusal leaves nothing behind and
          // its neighbours commit. Anything else (a refusal after a write, a database error)
          // fails the transaction, and the writes are retried one by one.
          if (revision !== mark || !isEimError(e)) throw e;
          results.push({ ok: false, value: e });
        }
      }
      // The last writes, then the events: pipelined (runBatch), sent with them. A failure either
      // met, a neighbour's write's too, fails the batch before it commits.
      const last: Promise<unknown>[] = [rows.flush()];
      if (!this.adapter.runBatch) await last[0];
      if (events.length > 0) {
        const logged = events.map((e) => ({ revision: e.revision, project: e.project, kind: e.kind, id: e.id, type: e.type, at, data: e.json }));
        if (this.dialect === 'postgres') {
          // Its notice may arrive before the commit's answer does. Bounded: with the listening
          // connection down for long, the oldest are forgotten (a wasted read each, no more).
          notice = revision;
          if (this.ownNotices.size >= 4096) this.ownNotices.delete(this.ownNotices.values().next().value!);
          this.ownNotices.add(notice);
        }
        last.push(this.adapter.finishBatch(trx, logged, revision));
      }
      let commitSent: Promise<unknown> | undefined;
      if (commit) {
        // A statement pg refuses before sending it (a value it cannot bind) fails on the next tick
        // and leaves the transaction unaborted: a COMMIT behind it would keep the others. Such a
        // failure is known after one turn of the event loop (a server's answer takes a round trip).
        let refused = false;
        for (const p of last) p.catch(() => (refused = true));
        await new Promise((r) => setImmediate(r));
        if (!refused) {
          // Pipelined behind them (PostgreSQL): a commit may happen from here on.
          committing = true;
          commitSent = commit();
          last.push(commitSent);
        }
      }
      try {
        await settled(last);
      } catch (e) {
        // A statement failed and the COMMIT behind it answered ROLLBACK: nothing was kept, and the
        // log need not be asked. Any other answer leaves the outcome to the log.
        const answer = await commitSent?.then((r) => r, () => undefined);
        if ((answer as { command?: string } | undefined)?.command === 'ROLLBACK') committing = false;
        throw e;
      }
      committing = true;
    };
    try {
      if (this.adapter.runBatch) await this.adapter.runBatch(body);
      else {
        await this.db.transaction().execute(async (trx) => {
          this.adapter.durability?.defer();
          const revision = await this.adapter.lockRevision(trx, this.committed);
          await body(trx, Promise.resolve(revision));
        });
      }
    } catch (e) {
      // The batch's last statement ran: its COMMIT may have happened with the answer lost (a
      // connection reset just then). Retried, its writes would be applied twice: ask the log.
      const outcome = committing && notice !== undefined ? await this.committedAfterAll(notice, events[events.length - 1].id) : 'rolled back';
      if (outcome === 'committed') return this.committedBatch(batch, results, events);
      if (notice !== undefined) this.ownNotices.delete(notice);
      if (outcome === 'unknown') {
        const error = new EimError('unavailable', `the database did not confirm the commit (${(e as Error)?.message ?? e}) and cannot be asked now whether it happened; read the resource before retrying`);
        for (const item of batch) item.reject(error);
        return;
      }
      if (batch.length > 1) {
        // The commit itself failed: nothing was kept. Retry each write alone so one bad apple
        // does not fail its neighbours.
        for (const item of batch) await this.commitBatch([item]);
        return;
      }
      // After the answers of the batches before it (which may still wait for their sync).
      if (this.adapter.durability) this.acknowledged = this.acknowledged.then(() => batch[0].reject(e));
      else batch[0].reject(e);
      return;
    }
    // Returned, so the committer waits for the sync: the writes of the meantime make the next batch.
    return this.committedBatch(batch, results, events);
  }

  /** Answers a committed batch's writes and hands its events to the listeners (after its sync, where the adapter syncs apart). */
  private committedBatch(batch: Pending<{ run: Mutation<unknown> } & WriteOptions>[], results: { ok: boolean; value: unknown }[], events: LoggedEvent[]): Promise<void> | undefined {
    if (events.length > 0) this.committed = events[events.length - 1].revision;
    const acknowledge = (synced: { ok: true } | { ok: false; error: unknown }) => {
      batch.forEach((item, i) => (!synced.ok ? item.reject(synced.error) : results[i].ok ? item.resolve(results[i].value) : item.reject(results[i].value)));
      for (const e of events) if (e.type === 'CREATED') this.createdSinceAnalyze++;
      this.analyzeWhenGrown();
      // Committed either way: what readers can see, watchers hear of.
      if (events.length > 0) {
        for (const l of this.commitListeners) {
          try {
            l(events);
          } catch (e) {
            process.stderr.write(`store: a commit listener failed: ${(e as Error)?.stack ?? String(e)}\n`);
          }
        }
      }
    };
    const durability = this.adapter.durability;
    if (!durability) return void acknowledge({ ok: true });
    // Answers and events go out in commit order, after the sync. Also for a batch without events:
    // some writes log none (an agent token with an unchanged status).
    const sync = durability.sync();
    this.acknowledged = this.acknowledged.then(() => sync).then(
      () => acknowledge({ ok: true }),
      (e) =>
        acknowledge({
          ok: false,
          // Committed and visible, but not known to be on disk: not a refusal to retry blindly.
          error: new EimError('internal', `the write was committed but could not be made durable: ${(e as Error)?.message ?? e}; read the resource before retrying`),
        }),
    );
    return sync.then(noop, noop); // a failure is answered above, in order
  }

  /** Whether the commit that logged `id` at `revision` happened, read from the event log ('unknown' when the database cannot be asked). */
  private async committedAfterAll(revision: number, id: string): Promise<'committed' | 'rolled back' | 'unknown'> {
    try {
      const row = await this.db.selectFrom('eim_events').select('id').where('revision', '=', revision).executeTakeFirst();
      return row?.id === id ? 'committed' : 'rolled back';
    } catch {
      return 'unknown';
    }
  }

  /** Refreshes the planner's statistics in the background once this process has created enough since the last time. */
  private analyzeWhenGrown(): void {
    const analyze = this.adapter.analyze;
    if (!analyze || this.analyzing || this.createdSinceAnalyze < Math.max(1000, this.createdAtAnalyze * 0.2)) return;
    const n = this.createdSinceAnalyze;
    this.analyzing = analyze(this.db).then(
      () => {
        this.createdAtAnalyze += n;
        this.createdSinceAnalyze -= n;
        this.analyzing = undefined;
      },
      // Tried again after the next commit that creates something.
      () => void (this.analyzing = undefined),
    );
  }

  async get(id: string): Promise<Resource | undefined> {
    const row = (await this.db.executeQuery<Row>(CompiledQuery.raw(FIXED_SQL[this.adapter.name].get, [id]))).rows[0];
    return row ? toResource(row, this.adapter) : undefined;
  }

  hostsByIdentity(project: string, identity: HostIdentity, limit: number): Promise<HostIdentityMatch[]> {
    return hostsByIdentity(this.db, this.adapter, project, identity, limit);
  }

  getSecrets(project: string, id: string): Promise<Record<string, unknown> | undefined> {
    return readSecrets(this.db, project, id);
  }

  async referringTo(project: string, targetId: string, kinds: readonly string[], limit: number): Promise<Resource[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    const kindList = this.adapter.name === 'postgres' ? [...kinds] : JSON.stringify(kinds);
    const q = withLimit(this.adapter, REFERRING_TO_SQL[this.adapter.name], [targetId, project, kindList], limit);
    const rows = (await this.db.executeQuery<Row>(CompiledQuery.raw(q.text, q.params))).rows;
    return rows.map((r) => toResource(r, this.adapter));
  }

  async list(q: ListQuery): Promise<ListResult> {
    return this.adapter.snapshot(this.db, async (trx) => {
      const meta = await trx.selectFrom('eim_meta').select('revision').where('id', '=', 1).executeTakeFirstOrThrow();
      // `spec.siteId = site-…`, `status.hostId = host-…`: the reference index finds the few rows, and
      // the JSON test only confirms them. SQLite would rather walk the kind's rows in name order
      // and test each against the id list; unary `+` takes kind and project off its index choice.
      const targets = q.filter ? refEqualities(q.kind, q.filter) : [];
      const viaRefs = targets.length > 0 && this.adapter.name === 'sqlite';
      let base = trx.selectFrom('eim_resources').where(viaRefs ? sql<string>`+kind` : 'kind', '=', q.kind);
      if (q.project !== undefined) base = base.where(viaRefs ? sql<string>`+project` : 'project', '=', q.project);
      for (const target of targets) base = base.where('id', 'in', (eb) => eb.selectFrom('eim_refs').select('from_id').where('to_id', '=', target));
      if (q.filter) base = base.where(compileFilter(q.filter, this.adapter.name));
      let page = base;
      if (q.after) {
        const { name, id } = q.after;
        // The same collation as ORDER BY (byte order), or a page would skip or repeat rows.
        const c = this.adapter.name === 'postgres' ? sql` COLLATE "C"` : sql``;
        page = page.where(sql<boolean>`(name${c} > ${name} OR (name = ${name} AND id${c} > ${id}))`);
      }
      const { rows, matched } = await readListPage(trx, this.adapter.name, page, compileOrderBy(q.orderBy ?? [], this.adapter.name), {
        offset: q.offset,
        limit: q.limit,
        maxBytes: q.maxBytes ?? LIST_PAGE_BYTES,
        assumedSize: this.maxResourceBytes,
      });
      // Counted from the rows matched, not those that fit: a page the budget cut short is not the end.
      const total =
        q.knownTotal ??
        (q.offset === 0 && !q.after && matched < q.limit ? matched : Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n));
      return { items: rows.map((r) => toResource(r as Row, this.adapter)), totalSize: total, revision: Number(meta.revision), more: rows.length < matched || matched === q.limit };
    });
  }

  async readEvents(q: EventQuery): Promise<LoggedEvent[]> {
    return (await this.readEventPage(q)).events;
  }

  async readEventPage(q: EventQuery): Promise<{ events: LoggedEvent[]; more: boolean }> {
    const matching = () => {
      let query = this.db.selectFrom('eim_events').where('revision', '>', q.after);
      if (q.project !== undefined) query = query.where('project', '=', q.project);
      if (q.kinds && q.kinds.length > 0) query = query.where('kind', 'in', [...q.kinds]);
      if (q.id !== undefined) query = query.where('id', '=', q.id);
      return query;
    };
    let rows: { revision: number; project: string; kind: string; id: string; type: string; data: string }[];
    let more: boolean;
    if (q.maxBytes === undefined) {
      rows = await matching().select(['revision', 'project', 'kind', 'id', 'type', 'data']).orderBy('revision').limit(q.limit).execute();
      more = rows.length === q.limit;
    } else {
      // Sizes first (octet_length reads neither TOAST nor overflow pages), then the data of the
      // events that fit: a log of huge events is never loaded a thousand at a time.
      const sizes = await matching().select(['revision', sql<number>`octet_length(data)`.as('n')]).orderBy('revision').limit(q.limit).execute();
      const fit = rowsThatFit(sizes.map((s) => Number(s.n)), q.maxBytes);
      more = fit < sizes.length || sizes.length === q.limit;
      rows =
        fit === 0
          ? []
          : await matching()
              .where('revision', '<=', Number(sizes[fit - 1].revision))
              .select(['revision', 'project', 'kind', 'id', 'type', 'data'])
              .orderBy('revision')
              .limit(fit)
              .execute();
    }
    // Checked after the read: compaction only moves forward, so passing here means nothing was missing above.
    const meta = await this.db.selectFrom('eim_meta').select('compacted_revision').where('id', '=', 1).executeTakeFirstOrThrow();
    if (q.after < Number(meta.compacted_revision)) {
      throw new EimError('revision_compacted', `revision ${q.after} is older than the retained event history (it starts after ${meta.compacted_revision}); list again and watch from the list's revision`, {
        details: { compactedRevision: Number(meta.compacted_revision) },
      });
    }
    const events = rows.map((r) => ({ revision: Number(r.revision), project: r.project, kind: r.kind, id: r.id, type: r.type as LoggedEvent['type'], json: r.data }));
    return { events, more };
  }

  async currentRevision(): Promise<number> {
    const meta = await this.db.selectFrom('eim_meta').select('revision').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(meta.revision);
  }

  async takeLeaderEpoch(): Promise<number> {
    // The row of the revision lock: a write batch in flight finishes first, and every later one sees the new epoch.
    const row = await this.db.updateTable('eim_meta').set((eb) => ({ leader_epoch: eb('leader_epoch', '+', 1) })).where('id', '=', 1).returning('leader_epoch').executeTakeFirstOrThrow();
    return Number(row.leader_epoch);
  }

  async compact(options: RetentionOptions, now: Date): Promise<number> {
    const meta = await this.db.selectFrom('eim_meta').select(['revision', 'compacted_revision']).where('id', '=', 1).executeTakeFirstOrThrow();
    const current = Number(meta.revision);
    const compacted = Number(meta.compacted_revision);
    const byCount = current - options.minEvents;
    if (byCount <= compacted) return compacted;
    const cutoff = new Date(now.getTime() - options.minAgeMs).toISOString();
    const old = await this.db
      .selectFrom('eim_events')
      .select((eb) => eb.fn.max('revision').as('r'))
      .where('revision', '>', compacted)
      .where('revision', '<=', byCount)
      .where('at', '<', cutoff)
      .executeTakeFirst();
    const target = Math.min(byCount, Number(old?.r ?? compacted));
    if (target <= compacted) return compacted;
    await this.db.updateTable('eim_meta').set({ compacted_revision: target }).where('id', '=', 1).where('compacted_revision', '<', target).execute();
    for (let from = compacted; from < target; from += 20000) {
      await this.db.deleteFrom('eim_events').where('revision', '<=', Math.min(target, from + 20000)).execute();
    }
    return target;
  }

  onCommit(listener: (events: LoggedEvent[]) => void): void {
    this.commitListeners.push(listener);
  }

  onRemoteCommit(listener: (revision?: number) => void): void {
    this.remoteListeners.push(listener);
  }

  async ensureProject(name: string): Promise<boolean> {
    const existing = await this.db.selectFrom('eim_projects').select('name').where('name', '=', name).executeTakeFirst();
    if (existing) return false;
    const res = await this.db.insertInto('eim_projects').values({ name, created_at: this.now().toISOString() }).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async listProjects(): Promise<{ name: string; createdAt: string }[]> {
    const rows = await this.db.selectFrom('eim_projects').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at }));
  }

  async deleteProject(name: string): Promise<void> {
    await this.db.deleteFrom('eim_projects').where('name', '=', name).execute();
  }

  async countResources(project?: string): Promise<number> {
    let q = this.db.selectFrom('eim_resources').select((eb) => eb.fn.countAll().as('n'));
    if (project !== undefined) q = q.where('project', '=', project);
    const r = await q.executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countBy(query: CountByQuery): Promise<CountRow[]> {
    // The fleet summary per site (the console's tiles): a query an index answers alone.
    const f = query.fields.map((x) => x.join('.'));
    if (query.kind === 'Host' && query.project !== undefined && !query.filter && f.length === 2 && f[0] === 'spec.siteId' && f[1] === 'hostCategory') {
      return (await hostsBySite(this.db, this.dialect, query.project)).map((r) => ({ values: [r.site, r.category], count: r.count }));
    }
    return countBy(this.db, this.dialect, query);
  }

  async close(): Promise<void> {
    await this.unlisten?.();
    await this.committer.idle(); // writes still queued (behind a sync, say) commit first
    await this.acknowledged;
    await this.analyzing;
    await this.adapter.close?.();
    await this.db.destroy();
  }
}

async function readSecrets(db: Kysely<Database> | Transaction<Database>, project: string, id: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('eim_secrets').select('data').where('id', '=', id).where('project', '=', project).executeTakeFirst();
  return row ? (JSON.parse(row.data) as Record<string, unknown>) : undefined;
}

class KyselyWriteTx implements WriteTx {
  constructor(
    private readonly trx: Kysely<Database>,
    private readonly adapter: DialectAdapter,
    readonly at: string,
    private readonly revisions: { peek: () => number; take: () => number },
    private readonly events: LoggedEvent[],
    private readonly maxResourceBytes: number,
    private readonly unbounded: boolean,
    /** The batch's rows read ahead and plain updates not written yet: flushed before any other statement. */
    private readonly rows: BatchRows,
  ) {}

  async get(id: string): Promise<Resource | undefined> {
    const known = this.rows.take(id);
    if (known && 'written' in known) return known.written ? resourceOfStored(known.written) : undefined;
    if (known) return known.row ? toResource(known.row as Row, this.adapter) : undefined;
    const row = (await this.trx.executeQuery<Row>(CompiledQuery.raw(FIXED_SQL[this.adapter.name].get, [id]))).rows[0];
    if (row) this.rows.seen(id, row);
    return row ? toResource(row, this.adapter) : undefined;
  }

  async placeOf(id: string): Promise<{ project: string; kind: string } | undefined> {
    const known = this.rows.placeOf(id);
    if (known !== undefined) return known ?? undefined;
    return (await this.trx.executeQuery<{ project: string; kind: string }>(CompiledQuery.raw(FIXED_SQL[this.adapter.name].placeOf, [id]))).rows[0];
  }

  async clashes(id: string, project: string, kind: string, name: string): Promise<{ idTaken: boolean; nameOwner?: string }> {
    await this.rows.flush();
    const rows = await this.trx
      .selectFrom('eim_resources')
      .select(['id', 'project', 'kind', 'name'])
      .where((eb) => eb.or([eb('id', '=', id), eb.and([eb('project', '=', project), eb('kind', '=', kind), eb('name', '=', name)])]))
      .execute();
    return {
      idTaken: rows.some((r) => r.id === id),
      nameOwner: rows.find((r) => r.project === project && r.kind === kind && r.name === name)?.id,
    };
  }

  async getByName(project: string, kind: string, name: string): Promise<Resource | undefined> {
    await this.rows.flush();
    const row = await this.trx.selectFrom('eim_resources').selectAll().where('project', '=', project).where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    return row ? toResource(row, this.adapter) : undefined;
  }

  async hostsByIdentity(project: string, identity: HostIdentity, limit: number): Promise<HostIdentityMatch[]> {
    const known = this.rows.hostsByIdentity(project, identity, limit);
    if (known) return known;
    await this.rows.flush();
    return hostsByIdentity(this.trx, this.adapter, project, identity, limit);
  }

  async referrers(id: string, limit: number): Promise<{ id: string; owner: boolean }[]> {
    await this.rows.flush();
    const q = withLimit(this.adapter, FIXED_SQL[this.adapter.name].referrers, [id], limit);
    const rows = (await this.trx.executeQuery<{ from_id: string; owner: unknown }>(CompiledQuery.raw(q.text, q.params))).rows;
    return rows.map((r) => ({ id: r.from_id, owner: Number(r.owner) === 1 }));
  }

  async insertIfFree(input: Omit<Resource, 'revision' | 'createdAt' | 'updatedAt'>, actor: string): Promise<{ resource?: Resource; idTaken?: boolean; nameOwner?: string }> {
    const res: Resource = { ...input, revision: this.revisions.peek(), createdAt: this.at, updatedAt: this.at };
    const row = toRow(res, this.maxResourceBytes, this.unbounded);
    const refs = refRows(res);
    if (!this.rows.deferInsert(row, refs)) {
      await this.rows.flush();
      const text = FIXED_SQL[this.adapter.name];
      const r = await this.trx.executeQuery(CompiledQuery.raw(text.insertResource, RESOURCE_COLUMNS.map((c) => row[c])));
      if (Number(r.numAffectedRows ?? 0) !== 1) return this.clashes(res.id, res.project, res.kind, res.name);
      this.rows.wrote(res.id, row);
      if (refs.length > 0) await this.trx.executeQuery(CompiledQuery.raw(rowsStatement(this.adapter.name, 'eim_refs', REF_COLUMNS, refs.length), refs.flatMap((r) => REF_COLUMNS.map((c) => r[c]))));
    }
    this.revisions.take();
    this.log('CREATED', res, actor);
    return { resource: res };
  }

  async update(input: Resource, actor: string, refsChanged: boolean): Promise<Resource> {
    // Checked before the revision is taken: a refusal here leaves the batch's other writes alone.
    const res: Resource = { ...input, revision: this.revisions.peek(), updatedAt: this.at };
    const full = toRow(res, this.maxResourceBytes, this.unbounded);
    this.revisions.take();
    if (refsChanged) {
      await this.rows.flush();
      const { id: _id, created_at: _c, ...row } = full;
      await this.trx.updateTable('eim_resources').set(row).where('id', '=', res.id).execute();
      this.rows.wrote(res.id, full);
      await this.trx.deleteFrom('eim_refs').where('from_id', '=', res.id).execute();
      const refs = refRows(res);
      if (refs.length > 0) await this.trx.insertInto('eim_refs').values(refs).execute();
    } else if (!this.rows.defer(full)) {
      // Not read in this batch (or removed since): updated now, as a statement of its own, which
      // changes nothing when the row is gone.
      await this.rows.flush();
      const { id: _id, created_at: _c, ...row } = full;
      const r = await this.trx.updateTable('eim_resources').set(row).where('id', '=', res.id).executeTakeFirst();
      this.rows.wrote(res.id, Number(r.numUpdatedRows) === 1 ? full : null);
    }
    this.log('UPDATED', res, actor);
    return res;
  }

  async remove(input: Resource, actor: string): Promise<Resource> {
    const res: Resource = { ...input, revision: this.revisions.take() };
    await this.rows.flush();
    const text = FIXED_SQL[this.adapter.name];
    await this.trx.executeQuery(CompiledQuery.raw(text.deleteResource, [res.id]));
    this.rows.wrote(res.id, null);
    // Only a kind with references has rows in eim_refs, only one with write-only fields in eim_secrets.
    const def = kindById(res.id);
    if (!def || def.refs.length > 0) await this.trx.executeQuery(CompiledQuery.raw(text.deleteRefs, [res.id]));
    if (!def || def.writeOnly?.length) await this.trx.executeQuery(CompiledQuery.raw(text.deleteSecrets, [res.id]));
    this.log('DELETED', res, actor);
    return res;
  }

  async insertToken(record: TokenRecord): Promise<void> {
    await this.rows.flush();
    return insertTokenRow(this.trx, record, this.adapter.name);
  }

  async getSecrets(project: string, id: string): Promise<Record<string, unknown> | undefined> {
    await this.rows.flush();
    return readSecrets(this.trx, project, id);
  }

  async putSecrets(id: string, project: string, secrets: Record<string, unknown> | undefined): Promise<void> {
    await this.rows.flush();
    await this.trx.deleteFrom('eim_secrets').where('id', '=', id).execute();
    if (secrets && Object.keys(secrets).length > 0) await this.trx.insertInto('eim_secrets').values({ id, project, data: JSON.stringify(secrets) }).execute();
  }

  private log(type: LoggedEvent['type'], res: Resource, actor: string): void {
    this.events.push({ revision: res.revision, project: res.project, kind: res.kind, id: res.id, type, json: eventJson(type, res, actor, this.at) });
  }
}

const noop = () => {};

/**
 * Waits for all of these to settle, then throws the first failure: none may still be running when
 * the caller goes on (a statement of a failed batch sent after its rollback).
 */
async function settled(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The reference rows of a resource (eim_refs): one per distinct target. */
function refRows(res: Resource): RefRow[] {
  const def = kindById(res.id);
  if (!def || def.refs.length === 0) return [];
  const unique = new Map(extractRefs(def, res).map((r) => [r.id, r.ref.owner]));
  return [...unique].map(([to, owner]) => ({ from_id: res.id, to_id: to, project: res.project, owner: owner ? 1 : 0 }));
}

/**
 * The hot path's statements of one fixed shape, as SQL text (values are parameters): building them
 * with Kysely's query builder on every call cost more than running them. Written for SQLite; the
 * PostgreSQL text numbers each `?` in turn, so no statement here may hold a literal `?`.
 */
const FIXED_SQLITE = {
  get: 'select * from "eim_resources" where "id" = ?',
  placeOf: 'select "project", "kind" from "eim_resources" where "id" = ?',
  referrers: 'select "from_id", "owner" from "eim_refs" where "to_id" = ?',
  deleteResource: 'delete from "eim_resources" where "id" = ?',
  deleteRefs: 'delete from "eim_refs" where "from_id" = ?',
  deleteSecrets: 'delete from "eim_secrets" where "id" = ?',
  insertResource: `insert into "eim_resources" (${RESOURCE_COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${RESOURCE_COLUMNS.map(() => '?').join(', ')}) on conflict do nothing`,
};
/** PostgreSQL numbers its parameters. */
const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};
const FIXED_SQL: Record<'sqlite' | 'postgres', typeof FIXED_SQLITE> = {
  sqlite: FIXED_SQLITE,
  postgres: Object.fromEntries(Object.entries(FIXED_SQLITE).map(([k, v]) => [k, numbered(v)])) as typeof FIXED_SQLITE,
};

/**
 * A fixed statement with its LIMIT, and that LIMIT's parameters. PostgreSQL binds the limit as the
 * last parameter. SQLite gets it written into the text: with a bound LIMIT it ran the statement as
 * if prepared afresh every time (the host identity lookup of every Host create took 25 µs with
 * `limit ?` and 3.6 µs with `limit 6`, in a scratch loop over 50,000 hosts; BENCHMARKS.md). The
 * limits are the callers' constants, checked here: never a client's value, and only a few texts each.
 */
function withLimit(adapter: DialectAdapter, text: string, params: unknown[], limit: number): { text: string; params: unknown[] } {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError(`a limit is a non-negative integer, not ${limit}`);
  if (adapter.name === 'sqlite') return { text: `${text} limit ${limit}`, params };
  return { text: `${text} limit $${params.length + 1}`, params: [...params, limit] };
}

/**
 * The resources of some kinds that refer to one: the reference index finds the few rows (SQLite's
 * unary `+` keeps it from walking the kind's index instead); the kinds are one parameter.
 */
const REFERRING_TO_SQL: Record<'sqlite' | 'postgres', string> = {
  sqlite: `select * from eim_resources where id in (select from_id from eim_refs where to_id = ?) and +project = ? and +kind in (select value from json_each(?)) order by id`,
  postgres: `select * from eim_resources where id in (select from_id from eim_refs where to_id = $1) and project = $2 and kind = any($3::text[]) order by id`,
};

/**
 * Host identity lookups, as fixed SQL text (one prepared statement, values as parameters). The
 * expressions are those of migration 0004's indexes, written out the same way so the planners use
 * them, and `kind = 'Host'` is a literal for the same reason (the indexes are partial).
 */
const HOST_IDENTITY_SQL: Record<'sqlite' | 'postgres', string> = {
  sqlite: `select id, name, lower(json_extract(spec, '$.uuid')) as uuid, json_extract(spec, '$.serialNumber') as serial from eim_resources
      where kind = 'Host' and project = ? and lower(json_extract(spec, '$.uuid')) = ?
    union all
    select id, name, lower(json_extract(spec, '$.uuid')) as uuid, json_extract(spec, '$.serialNumber') as serial from eim_resources
      where kind = 'Host' and project = ? and json_extract(spec, '$.serialNumber') = ?`,
  postgres: `select id, name, lower(spec->>'uuid') as uuid, (spec->>'serialNumber') as serial from eim_resources
      where kind = 'Host' and project = $1 and lower(spec->>'uuid') = $2
    union all
    select id, name, lower(spec->>'uuid') as uuid, (spec->>'serialNumber') as serial from eim_resources
      where kind = 'Host' and project = $1 and (spec->>'serialNumber') = $3`,
};

async function hostsByIdentity(db: Kysely<Database> | Transaction<Database>, adapter: DialectAdapter, project: string, identity: HostIdentity, limit: number): Promise<HostIdentityMatch[]> {
  if (identity.uuid === undefined && identity.serialNumber === undefined) return [];
  const uuid = identity.uuid ?? null;
  const serial = identity.serialNumber ?? null;
  // One branch per index (an OR would scan the project's hosts); a host holding both comes twice.
  const q = withLimit(adapter, HOST_IDENTITY_SQL[adapter.name], adapter.name === 'sqlite' ? [project, uuid, project, serial] : [project, uuid, serial], 2 * limit);
  const rows = (await db.executeQuery<{ id: string; name: string; uuid: string | null; serial: string | null }>(CompiledQuery.raw(q.text, q.params))).rows;
  const out = new Map<string, HostIdentityMatch>();
  for (const r of rows) out.set(r.id, { id: r.id, name: r.name, ...(r.uuid !== null ? { uuid: r.uuid } : {}), ...(r.serial !== null ? { serialNumber: r.serial } : {}) });
  return [...out.values()].slice(0, limit);
}

/**
 * PostgreSQL: the hosts of a project holding any of these uuids (lower case) or serial numbers, one
 * index lookup per value (the values are array parameters, never query text). A lateral join per
 * value, kept apart by `offset 0` (the planner may not flatten it into a join): with statistics from
 * when the table was small (a fresh fleet enrolling), it planned `= any` of 16 values, and the join
 * a flattened lateral becomes, as a scan of every row, twice per commit.
 */
async function hostsHoldingAny(trx: Kysely<Database>, project: string, uuids: string[], serials: string[]): Promise<{ id: string; name: string; uuid: string | null; serial: string | null }[]> {
  const r = await sql<{ id: string; name: string; uuid: string | null; serial: string | null }>`
    select h.* from unnest(${uuids}::text[]) as v(x) cross join lateral (
      select id, name, lower(spec->>'uuid') as uuid, (spec->>'serialNumber') as serial from eim_resources
        where kind = 'Host' and project = ${project} and lower(spec->>'uuid') = v.x offset 0) as h
    union all
    select h.* from unnest(${serials}::text[]) as v(x) cross join lateral (
      select id, name, lower(spec->>'uuid') as uuid, (spec->>'serialNumber') as serial from eim_resources
        where kind = 'Host' and project = ${project} and (spec->>'serialNumber') = v.x offset 0) as h`.execute(trx);
  return r.rows;
}

/** PostgreSQL: the rows holding any of these names (index i of each array is one (project, kind, name)). */
async function namesHeld(trx: Kysely<Database>, projects: string[], kinds: string[], names: string[]): Promise<{ id: string; project: string; kind: string; name: string }[]> {
  const r = await sql<{ id: string; project: string; kind: string; name: string }>`
    select id, project, kind, name from eim_resources
      where (project, kind, name) in (select * from unnest(${projects}::text[], ${kinds}::text[], ${names}::text[]))`.execute(trx);
  return r.rows;
}

/** Ids that a filter requires reference fields to equal (top-level AND terms only). */
function refEqualities(kind: string, node: FilterNode): string[] {
  const def = kindByName(kind);
  if (!def) return [];
  const terms = node.op === 'and' ? node.args : [node];
  const out: string[] = [];
  for (const t of terms) {
    if (t.op !== 'cmp' || t.cmp !== '=' || t.value.type !== 'string' || t.value.value.includes('*')) continue;
    const path = t.field.join('.');
    if (def.refs.some((r) => !r.many && r.path.join('.') === path)) out.push(t.value.value);
  }
  return out;
}

/**
 * The row of a resource. Refuses what no store may hold, the same on SQLite and PostgreSQL: text
 * PostgreSQL cannot store (NUL, unpaired surrogates) and a resource over `maxBytes`.
 */
function toRow(r: Resource, maxBytes = Number.POSITIVE_INFINITY, unchecked = false) {
  const labels = JSON.stringify(r.labels);
  const spec = JSON.stringify(r.spec);
  const status = JSON.stringify(r.status);
  if (unchecked) return rowOf(r, labels, spec, status, sizeOf(r.name, labels, spec, status));
  const parts = { labels, spec, status };
  for (const [field, json] of Object.entries(parts)) {
    const problem = serializedJsonProblem(json);
    if (problem) throw new EimError('invalid_argument', `${r.kind} ${field} ${problem}; NUL characters and unpaired surrogates cannot be stored: remove them`);
  }
  const bytes = sizeOf(r.name, labels, spec, status);
  if (bytes > maxBytes) {
    throw new EimError('payload_too_large', `${r.kind} "${r.name}" would take ${bytes} bytes (name, labels, spec and status as JSON); a resource may take at most ${maxBytes}: make it smaller`, {
      details: { bytes, maxBytes },
    });
  }
  return rowOf(r, labels, spec, status, bytes);
}

/** A resource's size as stored in size_bytes: name, labels, spec and status as JSON, in UTF-8 bytes. */
const sizeOf = (name: string, labels: string, spec: string, status: string) => Buffer.byteLength(name) + Buffer.byteLength(labels) + Buffer.byteLength(spec) + Buffer.byteLength(status);

const rowOf = (r: Resource, labels: string, spec: string, status: string, bytes: number) => ({
  id: r.id,
  project: r.project,
  kind: r.kind,
  name: r.name,
  labels,
  spec,
  status,
  inherited_labels: inheritedLabelsJson(r.status),
  host_category: r.kind === 'Host' ? hostCategory(r) : null,
  size_bytes: bytes,
  revision: r.revision,
  generation: r.generation,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** The inherited_labels column of a status: its inheritedLabels object, else {}. */
function inheritedLabelsJson(status: Record<string, unknown>): string {
  const v = status.inheritedLabels;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : '{}';
}

function toResource(row: Row, adapter: DialectAdapter): Resource {
  return {
    kind: row.kind as string,
    id: row.id as string,
    project: row.project as string,
    name: row.name as string,
    labels: adapter.parseJson(row.labels) as Record<string, string>,
    revision: Number(row.revision),
    generation: Number(row.generation),
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
    spec: adapter.parseJson(row.spec) as Record<string, unknown>,
    status: adapter.parseJson(row.status) as Record<string, unknown>,
  };
}
