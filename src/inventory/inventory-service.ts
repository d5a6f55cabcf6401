import {
  ALL_PROJECTS, assertStorableJson, type Caller, type CreateInput, type DeleteOptions, type DeleteResult, EimError, type EventsOptions, type EventsPage,
  type Inventory, type InventoryEvent, type KindDef, kindById, kindByName, type ListOptions, type ListPage, type PatchInput,
  type HostSummary, parseSummaryGroupBy, ProjectName, type RandomHex, type Resource, type ResourceOf, type WatchItem, type WatchOptions, type WriteOptions,
  DEFAULT_ALERT_RULES, revealSecrets, splitSecrets, usableIdentity, isEimError,
  extractRefs,
} from '../api/index.ts';
import { parseFilter, parseOrderBy } from '../api/filter.ts';
import { LIST_PAGE_BYTES, type LoggedEvent, type RetentionOptions, type Store, type TokenRecord } from '../store/index.ts';
import { type Permission, permissionsIn, requirePermission, userFieldsPermission } from './access.ts';
import { isPlainObject, jsonEqual, mergePatch } from './merge-patch.ts';
import { assertAccountUnique } from './account-uniqueness.ts';
import { storePages } from './store-pages.ts';
import { assertKindRules, normalizeSpec } from './kind-rules.ts';
import { assertNameFree, assertNoCycle, assertRefsExist, assertTransition, insertFresh, loadTarget, removeWithOwned, userFieldsChanged } from './mutations.ts';
import { decodePageToken, encodePageToken, queryHash } from './page-token.ts';
import { assertLabels, assertName, assertValid } from './validate.ts';
import { WatchHub } from './watch-hub.ts';
import { summarizeHosts } from './summarize-hosts.ts';

export interface InventoryServiceOptions {
  /** Event retention. @default { minAgeMs: 3_600_000, minEvents: 1_000_000 } */
  retention?: RetentionOptions;
  /** How often retention runs. @default 60000 */
  compactEveryMs?: number;
  /** Recent events the watch hub keeps in memory. @default 20000 */
  ringSize?: number;
  /** Bytes of recent events the watch hub keeps in memory (the oldest go first). @default 64 MiB */
  ringBytes?: number;
  /**
   * Bytes of event JSON in one answer of `GET …/events` and in one chunk of a watch catching up
   * from the log: a page holds fewer events rather than more bytes, and always at least one.
   * @default 4 MiB
   */
  eventsPageBytes?: number;
  /**
   * Bytes of resources in one list page (`GET /{kind}`; name, labels, spec and status as JSON),
   * and in each page of the service's own reads of many: a page holds fewer items than `pageSize`
   * rather than more bytes, always at least one, and its `nextPageToken` leads on.
   * @default 4 MiB
   */
  listPageBytes?: number;
  random?: RandomHex;
  now?: () => Date;
  /**
   * @internal For bench:inventory's baseline only: no depth or text checks of labels, spec and
   * status, and a watch hub without a byte budget, to measure what the bounds cost. Never in a server.
   * @default false
   */
  unbounded?: boolean;
}

/** Counters the server exports as metrics. */
export interface InventoryStats {
  writes: number;
  events: number;
  openWatches: number;
}

const MAX_PAGE = 1000;
/** The alert rules a project is seeded with carry this label. */
const DEFAULT_RULES = parseFilter('labels.default = "true"');
const EVENTS_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * The Inventory: validation, write policy, references, transitions and revisions over a Store,
 * plus the watch hub. `as(caller)` gives the Inventory interface with that caller's rights.
 */
export class InventoryService {
  readonly hub: WatchHub;
  readonly stats: InventoryStats = { writes: 0, events: 0, openWatches: 0 };
  private readonly projects = new Set<string>();
  /**
   * Recent events, parsed once for every in-process watch that reads them (each informer of a kind
   * used to parse its own copy of every event: garbage that lived long enough to fill the old
   * generation). Read-only: informers deep-freeze what they are given. At most PARSED_EVENTS, and
   * PARSED_BYTES of their JSON (a resource may be 256 KiB).
   */
  private readonly parsed = new Map<LoggedEvent, InventoryEvent>();
  private parsedBytes = 0;
  private compactTimer?: NodeJS.Timeout;
  private readonly retention: RetentionOptions;
  private readonly now: () => Date;
  private readonly pageBytes: number;
  private readonly listBytes: number;
  /** assertStorableJson, or nothing for the unbounded benchmark baseline. */
  private storable: (value: unknown, where: string) => void = (value, where) => assertStorableJson(value, where);

  constructor(
    readonly store: Store,
    private readonly options: InventoryServiceOptions = {},
  ) {
    this.pageBytes = options.eventsPageBytes ?? EVENTS_PAGE_BYTES;
    this.listBytes = options.listPageBytes ?? LIST_PAGE_BYTES;
    this.hub = new WatchHub(store, { ringSize: options.ringSize, ringBytes: options.ringBytes, readBytes: this.pageBytes, unbounded: options.unbounded });
    if (options.unbounded) this.storable = () => {};
    this.retention = options.retention ?? { minAgeMs: 3_600_000, minEvents: 1_000_000 };
    this.now = options.now ?? (() => new Date());
    store.onCommit((events) => (this.stats.events += events.length));
  }

  async start(): Promise<void> {
    await this.hub.start();
    for (const p of await this.store.listProjects()) this.projects.add(p.name);
    const every = this.options.compactEveryMs ?? 60_000;
    this.compactTimer = setInterval(() => void this.compact().catch(() => {}), every);
    this.compactTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.compactTimer);
    this.hub.close();
  }

  /** Applies retention now. */
  compact(): Promise<number> {
    return this.store.compact(this.retention, this.now());
  }

  /** The Inventory interface acting as `caller`. */
  as(caller: Caller): Inventory {
    return new CallerInventory(this, caller);
  }

  // Projects (admin).

  async createProject(caller: Caller, name: string): Promise<{ name: string; createdAt: string }> {
    requireClusterAdmin(caller, 'create projects');
    assertValid(ProjectName, name, 'name');
    if (!(await this.store.ensureProject(name))) throw new EimError('conflict', `project "${name}" already exists`);
    this.projects.add(name);
    await this.seedProject(name);
    return (await this.store.listProjects()).find((p) => p.name === name)!;
  }

  async ensureProject(name: string): Promise<void> {
    await this.store.ensureProject(name);
    this.projects.add(name);
  }

  async listProjects(caller: Caller): Promise<{ name: string; createdAt: string }[]> {
    return (await this.store.listProjects()).filter((p) => permissionsIn(caller, p.name).has('read'));
  }

  async deleteProject(caller: Caller, name: string): Promise<void> {
    requireClusterAdmin(caller, 'delete projects');
    await this.assertProject(name);
    // The default alert rules, as they were seeded (never edited), go with the project; anything else blocks it.
    const seeded: Resource[] = [];
    for await (const rules of storePages(this.store, { project: name, kind: 'AlertRule', filter: DEFAULT_RULES, limit: 100, maxBytes: this.listBytes })) {
      seeded.push(...rules.filter((r) => r.generation === 1));
    }
    const n = (await this.store.countResources(name)) - seeded.length;
    if (n > 0) throw new EimError('failed_precondition', `project "${name}" still holds ${n} resource(s); delete them first`);
    const system: Caller = { subject: 'system', grants: [{ project: name, role: 'editor' }] };
    // Gone already (another caller deleted it meanwhile) is fine; any other failure stops here, before the project goes.
    for (const r of seeded) await this.delete(system, name, 'AlertRule', r.id).catch((e) => (isEimError(e) && e.code === 'not_found' ? undefined : Promise.reject(e)));
    await this.store.deleteProject(name);
    this.projects.delete(name);
  }

  /** Whether the project exists now, asked of the store (another server may have created or deleted it). */
  async projectExists(name: string): Promise<boolean> {
    const exists = (await this.store.listProjects()).some((p) => p.name === name);
    if (exists) this.projects.add(name);
    else this.projects.delete(name);
    return exists;
  }

  async assertProject(project: string): Promise<void> {
    if (project === ALL_PROJECTS || this.projects.has(project)) return;
    // Another server process (PostgreSQL) may have created it.
    if ((await this.store.listProjects()).some((p) => p.name === project)) {
      this.projects.add(project);
      return;
    }
    throw new EimError('not_found', `project "${project}" not found`);
  }

  // The calls behind the Inventory interface; `caller` is checked in each.

  async create(caller: Caller, project: string, kind: string, input: CreateInput): Promise<Resource> {
    const def = kindDef(kind);
    const system = def.origin === 'manager';
    if (project === ALL_PROJECTS) throw new EimError('not_found', '"*" is not a project: resources are created in one project');
    requirePermission(caller, project, system ? 'system' : permissionsIn(caller, project).has('system') ? 'system' : 'spec', `create ${def.kind}s`);
    await this.assertProject(project);
    if (!isPlainObject(input)) throw new EimError('invalid_argument', 'the body must be a JSON object with name, labels and spec');
    // Managers create discovered kinds whole (their spec, if any, and status); users write spec only.
    const allowed = system ? ['name', 'labels', ...(def.spec ? ['spec'] : []), ...(def.status ? ['status'] : [])] : ['name', 'labels', 'spec'];
    assertOnly(input, allowed, def);
    assertName(input.name);
    const labels = input.labels ?? {};
    this.storable(labels, 'labels');
    assertLabels(labels);
    let spec: Record<string, unknown> = {};
    let status: Record<string, unknown> = {};
    if (def.spec) {
      if (!isPlainObject(input.spec)) throw new EimError('invalid_argument', `spec is required: a JSON object (${def.kind} spec)`);
      this.storable(input.spec, 'spec');
      spec = { ...def.specDefaults, ...input.spec };
      assertValid(def.spec, spec, 'spec', secretPaths(def));
      const problem = def.check?.(spec);
      if (problem) throw new EimError('invalid_argument', problem);
      spec = normalizeSpec(def.kind, spec);
      if (def.kind === 'LocalAccount') await assertAccountUnique(this.store, project, spec, undefined, input.name, this.listBytes);
    }
    const split = def.writeOnly ? splitSecrets(spec, def.writeOnly) : undefined;
    if (split) spec = split.stored;
    if (system && def.status && (input.status !== undefined || !def.spec)) {
      if (!isPlainObject(input.status)) throw new EimError('invalid_argument', `status is required: a JSON object (${def.kind} status)`);
      status = input.status;
      this.storable(status, 'status');
      assertValid(def.status, status, 'status');
    }
    const actor = actorOf(caller);
    const created = await this.store.write(async (tx) => {
      const draft: Resource = { kind: def.kind, id: '', project, name: input.name, labels, revision: 0, generation: 1, createdAt: '', updatedAt: '', spec, status };
      await assertRefsExist(tx, def, draft);
      await assertKindRules(tx, draft);
      assertTransition(def, undefined, draft);
      const res = await insertFresh(tx, def, draft, actor, this.options.random);
      if (split) await tx.putSecrets(res.id, project, split.secrets);
      return res;
      // What it refers to is read with the rest of the batch (a Command's host, a Site's region).
    }, { reads: refIds(def, spec, status), identities: identityLookups(def.kind, project, spec), creates: [{ project, kind: def.kind, name: input.name }], fence: caller.fence });
    this.stats.writes++;
    return created;
  }

  /**
   * A resource's spec with its write-only values, for the manager that uses them (an alert
   * receiver's secret signs its webhooks); managers only, never for users.
   */
  async revealSpec(caller: Caller, project: string, kind: string, id: string): Promise<Record<string, unknown>> {
    const def = kindDef(kind);
    requirePermission(caller, project, 'system', `read the write-only fields of ${def.kind}s`);
    const res = await this.get(caller, project, kind, id);
    return def.writeOnly ? revealSecrets(res.spec, await this.store.getSecrets(project, id)) : res.spec;
  }

  /** Fills a project made just now with what every project starts with: the default alert rules. */
  async seedProject(project: string): Promise<void> {
    const system: Caller = { subject: 'system', grants: [{ project, role: 'editor' }] };
    for (const rule of DEFAULT_ALERT_RULES) {
      await this.create(system, project, 'AlertRule', { name: rule.name, labels: { default: 'true' }, spec: rule.spec }).catch((e) => {
        // Another server seeding the same project at once made it already.
        if (!(e instanceof EimError && e.code === 'conflict')) throw e;
      });
    }
  }

  async get(caller: Caller, project: string, kind: string, id: string): Promise<Resource> {
    const def = kindDef(kind);
    requirePermission(caller, project, 'read', `read ${def.kind}s`);
    assertIdOf(def, id);
    const res = await this.store.get(id);
    if (!res || res.project !== project) throw new EimError('not_found', `${def.kind} ${id} not found in project "${project}"`);
    return res;
  }

  async list(caller: Caller, project: string, kind: string, options: ListOptions = {}): Promise<ListPage> {
    const def = kindDef(kind);
    requirePermission(caller, project, 'read', `list ${def.kind}s`);
    await this.assertProject(project);
    const pageSize = pageSizeOf(options.pageSize);
    const filter = options.filter ? parseFilter(options.filter, def) : undefined;
    const byName = !options.orderBy?.trim();
    const orderBy = byName ? [{ field: ['name'], desc: false }] : parseOrderBy(options.orderBy!, def);
    const hash = queryHash([def.kind, project, options.filter ?? '', options.orderBy ?? '']);
    const pos = options.pageToken ? decodePageToken(options.pageToken, hash) : { offset: 0 };
    const offset = pos.offset;
    // In name order the next page seeks past the last (name, id) instead of skipping rows, and the
    // total counted for the first page is carried along: paging 100,000 items stays linear.
    const r = await this.store.list({
      project: project === ALL_PROJECTS ? undefined : project,
      kind: def.kind,
      filter,
      orderBy,
      offset: byName && pos.after ? 0 : offset,
      limit: pageSize,
      maxBytes: this.listBytes,
      ...(byName && pos.after ? { after: { name: pos.after[0], id: pos.after[1] } } : {}),
      ...(pos.total !== undefined ? { knownTotal: pos.total } : {}),
    });
    const page: ListPage = { items: r.items, revision: r.revision, totalSize: r.totalSize };
    const last = r.items.at(-1);
    // A page the byte budget cut short leads on whatever the total carried in the token says.
    const cut = r.more && r.items.length < pageSize;
    if (last && (offset + r.items.length < r.totalSize || cut)) {
      page.nextPageToken = encodePageToken({ offset: offset + r.items.length, total: r.totalSize, ...(byName ? { after: [last.name, last.id] as [string, string] } : {}) }, hash);
    }
    return page;
  }

  /**
   * The project's hosts (those the filter takes) counted per category, over all and per group
   * (`groupBy`: site, region, label.<key>, inheritedLabel.<key>), in the store.
   */
  async summarizeHosts(caller: Caller, project: string, options: { filter?: string; groupBy?: string } = {}): Promise<HostSummary> {
    requirePermission(caller, project, 'read', 'list Hosts');
    if (project === ALL_PROJECTS) throw new EimError('invalid_argument', 'the fleet summary is per project: name one');
    await this.assertProject(project);
    const filter = options.filter ? parseFilter(options.filter, kindDef('Host')) : undefined;
    return summarizeHosts(this.store, project, filter, parseSummaryGroupBy(options.groupBy));
  }

  async update(caller: Caller, project: string, kind: string, id: string, patch: PatchInput, options: WriteOptions = {}): Promise<Resource> {
    const def = kindDef(kind);
    requirePermission(caller, project, userFieldsPermission(def), `change ${def.kind}s`);
    assertIdOf(def, id);
    if (!isPlainObject(patch)) throw new EimError('invalid_argument', 'the patch must be a JSON object with any of name, labels, spec');
    assertOnly(patch, def.spec ? ['name', 'labels', 'spec'] : ['name', 'labels'], def, 'patch');
    if (patch.spec !== undefined && !isPlainObject(patch.spec)) throw new EimError('invalid_argument', 'spec in a patch must be a JSON object (a merge patch)');
    if (patch.labels !== undefined && patch.labels !== null && !isPlainObject(patch.labels)) throw new EimError('invalid_argument', 'labels in a patch must be a JSON object or null');
    if (patch.name !== undefined) assertName(patch.name);
    // Before anything walks them: the merge and the comparison below recurse as deep as these go.
    if (patch.labels) this.storable(patch.labels, 'labels');
    if (patch.spec !== undefined) this.storable(patch.spec, 'spec');
    const actor = actorOf(caller);
    if (def.kind === 'LocalAccount' && isPlainObject(patch.spec)) {
      const before = await this.store.get(id);
      if (before && before.project === project && before.kind === def.kind) {
        const spec = mergePatch(before.spec, patch.spec) as Record<string, unknown>;
        if (spec.username !== before.spec.username || !jsonEqual(spec.target, before.spec.target)) await assertAccountUnique(this.store, project, spec, id, (patch.name as string | undefined) ?? before.name, this.listBytes);
      }
    }
    const out = await this.store.write(async (tx) => {
      const cur = await loadTarget(tx, def, project, id, options.ifMatch);
      const next: Resource = {
        ...cur,
        name: (patch.name as string | undefined) ?? cur.name,
        labels: patch.labels === undefined ? cur.labels : (mergePatch(cur.labels, patch.labels ?? {}) as Record<string, string>),
        spec: patch.spec === undefined ? cur.spec : (mergePatch(cur.spec, patch.spec) as Record<string, unknown>),
      };
      if (patch.labels === null) next.labels = {};
      if (patch.spec !== undefined) this.storable(next.spec, 'spec'); // a resource stored before the limits may nest deeper
      // Write-only fields: the stored spec shows SECRET_SET, and a patch may carry a new value.
      const before = def.writeOnly ? ((await tx.getSecrets(project, id)) ?? {}) : undefined;
      let secrets: Record<string, unknown> | undefined;
      if (def.writeOnly && def.spec) {
        const split = splitSecrets(next.spec, def.writeOnly, before);
        next.spec = split.stored;
        secrets = split.secrets;
      }
      const secretsChanged = secrets !== undefined && !jsonEqual(secrets, before);
      if (!userFieldsChanged(cur, next) && !secretsChanged) return { res: cur, wrote: false };
      assertLabels(next.labels);
      if (def.spec) {
        assertValid(def.spec, def.writeOnly ? revealSecrets(next.spec, secrets) : next.spec, 'spec', secretPaths(def));
        const problem = def.check?.(next.spec);
        if (problem) throw new EimError('invalid_argument', problem);
        next.spec = normalizeSpec(def.kind, next.spec);
      }
      if (next.name !== cur.name) await assertNameFree(tx, def, project, next.name, id);
      assertTransition(def, cur, next);
      await assertNoCycle(tx, def, next, cur);
      const refsChanged = await assertRefsExist(tx, def, next, cur);
      await assertKindRules(tx, next, cur);
      next.generation = cur.generation + 1;
      // The update first: it may still refuse (too large), and a refusal must leave the secrets as they were.
      const res = await tx.update(next, actor, refsChanged);
      if (secretsChanged) await tx.putSecrets(id, project, secrets);
      return { res, wrote: true };
    }, { reads: [id], identities: identityLookups(def.kind, project, isPlainObject(patch.spec) ? patch.spec : {}), fence: caller.fence });
    if (out.wrote) this.stats.writes++;
    return out.res;
  }

  async updateStatus(caller: Caller, project: string, kind: string, id: string, status: Record<string, unknown>, options: WriteOptions = {}): Promise<Resource> {
    return this.updateStatusWith(caller, project, kind, id, status, options);
  }

  /**
   * updateStatus, and in the same write transaction: `admit` sees the current resource first (throw
   * to refuse: nothing is written), and `tokens` are recorded last. Enrolment uses it so that an
   * agent token is recorded exactly when the host status naming its enrolment commits: a refused or
   * failed enrolment leaves no token behind, and there is nothing to revoke afterwards.
   */
  async updateStatusWith(
    caller: Caller, project: string, kind: string, id: string, status: Record<string, unknown>,
    options: WriteOptions & { admit?: (current: Resource) => void; tokens?: readonly TokenRecord[] } = {},
  ): Promise<Resource> {
    const def = kindDef(kind);
    requirePermission(caller, project, 'status', `write the status of ${def.kind}s`);
    assertIdOf(def, id);
    if (!def.status) throw new EimError('invalid_argument', `${def.kind} has no status: it is declarative`);
    if (!isPlainObject(status)) throw new EimError('invalid_argument', 'the status patch must be a JSON object (a merge patch of status)');
    this.storable(status, 'status');
    const actor = actorOf(caller);
    const out = await this.store.write(async (tx) => {
      const cur = await loadTarget(tx, def, project, id, options.ifMatch);
      options.admit?.(cur);
      const nextStatus = mergePatch(cur.status, status) as Record<string, unknown>;
      this.storable(nextStatus, 'status'); // a resource stored before the limits may nest deeper
      let res = cur;
      let wrote = false;
      if (!jsonEqual(nextStatus, cur.status)) {
        assertValid(def.status!, nextStatus, 'status');
        const next: Resource = { ...cur, status: nextStatus };
        const refsChanged = await assertRefsExist(tx, def, next, cur);
        res = await tx.update(next, actor, refsChanged);
        wrote = true;
      }
      for (const t of options.tokens ?? []) await tx.insertToken(t);
      return { res, wrote };
    }, { reads: [id], fence: caller.fence });
    if (out.wrote) this.stats.writes++;
    return out.res;
  }

  async delete(caller: Caller, project: string, kind: string, id: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const def = kindDef(kind);
    const perms = permissionsIn(caller, project);
    const need: Permission = options.force ? 'force' : def.origin === 'manager' || perms.has('system') ? 'system' : 'spec';
    requirePermission(caller, project, need, options.force ? `force-delete ${def.kind}s` : `delete ${def.kind}s`);
    assertIdOf(def, id);
    const actor = actorOf(caller);
    const finalize = options.force || perms.has('system');
    const out = await this.store.write(async (tx): Promise<DeleteResult> => {
      const cur = await loadTarget(tx, def, project, id, options.ifMatch);
      if (def.twoPhaseDelete && !finalize) {
        if (cur.spec.desiredState === 'deleted') return { removed: false, resource: cur };
        const next: Resource = { ...cur, spec: { ...cur.spec, desiredState: 'deleted' }, generation: cur.generation + 1 };
        return { removed: false, resource: await tx.update(next, actor, false) };
      }
      const removed = await removeWithOwned(tx, cur, actor);
      return { removed: true, resource: removed[removed.length - 1] };
    }, { reads: [id], fence: caller.fence });
    this.stats.writes++;
    return out;
  }

  /**
   * Checks a watch request (rights, kinds, a retained `since`) and returns its stream; errors come
   * here, before anything is streamed.
   */
  async openWatch(caller: Caller, options: WatchOptions): Promise<AsyncGenerator<WatchItem>> {
    return flatten(await this.openWatchBatches(caller, options));
  }

  /**
   * Like openWatch, but what is available at once comes as one array (what one commit or one log
   * page brought), so the SSE route writes it with one socket write. Refusals (rights, kinds, a
   * compacted `since`) are thrown here, before anything is streamed.
   */
  async openWatchBatches(caller: Caller, options: WatchOptions): Promise<AsyncGenerator<WatchItem[]>> {
    const project = options.project;
    requirePermission(caller, project, 'read', 'watch');
    await this.assertProject(project);
    const kinds = options.kinds && options.kinds.length > 0 ? new Set(options.kinds.map((k) => kindDef(k).kind)) : undefined;
    const position = options.since ?? this.hub.last;
    if (options.since !== undefined) {
      if (!Number.isSafeInteger(options.since) || options.since < 0) throw new EimError('invalid_argument', 'since must be a revision: a whole number ≥ 0');
      await this.assertNotAhead(options.since);
      // Fail early (before any event is sent) when the revision is gone.
      await this.store.readEvents({ after: position, limit: 1, project: project === ALL_PROJECTS ? undefined : project });
    }
    return this.stream(project, kinds, position, options);
  }

  private async *stream(project: string, kinds: Set<string> | undefined, since: number, options: WatchOptions): AsyncGenerator<WatchItem[]> {
    const signal = options.signal;
    const bookmarkMs = options.bookmarkMs ?? 10_000;
    const matches = (e: LoggedEvent) => (project === ALL_PROJECTS || e.project === project) && (!kinds || kinds.has(e.kind));
    let position = since;
    this.stats.openWatches++;
    try {
      let lastSent = Date.now();
      while (!signal?.aborted && !this.hub.isClosed) {
        let batch = this.hub.read(position, 1000, this.pageBytes);
        let upTo: number;
        if (batch === undefined) {
          // Behind the ring: a chunk from the log, bounded by bytes too. It covers everything up to
          // the ring's floor unless the chunk ended early (then up to its last event).
          upTo = this.hub.ringFloor;
          const page = await this.store.readEventPage({
            after: position, limit: 1000, maxBytes: this.pageBytes, project: project === ALL_PROJECTS ? undefined : project, kinds: kinds ? [...kinds] : undefined,
          });
          batch = page.events.filter((e) => e.revision <= upTo);
          if (page.more && batch.length === page.events.length) upTo = batch[batch.length - 1].revision;
        } else {
          upTo = batch.length > 0 ? batch[batch.length - 1].revision : position;
        }
        const out: WatchItem[] = [];
        for (const e of batch) if (matches(e)) out.push(this.eventItem(e));
        position = Math.max(position, upTo);
        if (out.length > 0) {
          yield out;
          lastSent = Date.now();
        }
        if (position >= this.hub.last) {
          const wait = bookmarkMs - (Date.now() - lastSent);
          // Woken only by an event of this stream: other projects' and kinds' commits go by.
          const changed = wait > 0 && (await this.hub.waitForChange(wait, signal, matches, position));
          if (changed || signal?.aborted) continue;
          // Timed out: read past what went by unheard first, so the bookmark names the newest revision.
          if (position < this.hub.last) continue;
          if (Date.now() - lastSent >= bookmarkMs - 5) {
            yield [{ type: 'bookmark', revision: position }];
            lastSent = Date.now();
          }
        }
      }
    } finally {
      this.stats.openWatches--;
    }
  }

  private eventItem(e: LoggedEvent): WatchItem {
    return {
      type: 'event',
      revision: e.revision,
      json: e.json,
      event: () => {
        let ev = this.parsed.get(e);
        if (!ev) {
          ev = JSON.parse(e.json) as InventoryEvent;
          while (this.parsed.size > 0 && (this.parsed.size >= PARSED_EVENTS || this.parsedBytes + e.json.length > PARSED_BYTES)) {
            const oldest = this.parsed.keys().next().value!;
            this.parsedBytes -= oldest.json.length;
            this.parsed.delete(oldest);
          }
          this.parsed.set(e, ev);
          this.parsedBytes += e.json.length;
        }
        return ev;
      },
    };
  }

  /**
   * A revision the store has not reached is a client's mistake (a revision from another database,
   * say); the store is asked, since this process's hub may lag another's by a few milliseconds.
   */
  private async assertNotAhead(since: number): Promise<void> {
    if (since <= this.hub.last) return;
    const head = await this.store.currentRevision();
    if (since > head) throw new EimError('invalid_argument', `since ${since} is ahead of the store, which is at revision ${head}; list again and watch from the list's revision`);
  }

  /** The events page as raw JSON texts (the server sends them without re-serialising). */
  async eventsRaw(caller: Caller, options: EventsOptions): Promise<{ events: LoggedEvent[]; revision: number }> {
    const project = options.project;
    requirePermission(caller, project, 'read', 'read events');
    await this.assertProject(project);
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw new EimError('invalid_argument', 'limit must be a whole number ≥ 1 (at most 1000)');
    const since = options.since ?? 0;
    if (!Number.isSafeInteger(since) || since < 0) throw new EimError('invalid_argument', 'since must be a revision: a whole number ≥ 0');
    await this.assertNotAhead(since);
    if (options.id !== undefined && !kindById(options.id)) throw new EimError('invalid_argument', `id "${options.id.slice(0, 64)}" is not a resource id (like host-0a1b2c3d)`);
    const head = this.hub.last;
    const kinds = options.kinds?.map((k) => kindDef(k).kind);
    const page = await this.store.readEventPage({
      after: since, limit: Math.min(limit, MAX_PAGE), maxBytes: this.pageBytes, project: project === ALL_PROJECTS ? undefined : project, kinds, id: options.id,
    });
    const events = page.events;
    // A page the limit or the byte budget ended goes on from its last event; the end of the log from the head.
    return { events, revision: page.more ? events[events.length - 1].revision : Math.max(head, since, events.at(-1)?.revision ?? 0) };
  }
}

class CallerInventory implements Inventory {
  constructor(
    private readonly svc: InventoryService,
    private readonly caller: Caller,
  ) {}
  create<N extends string>(project: string, kind: N, input: CreateInput) {
    return this.svc.create(this.caller, project, kind, input) as Promise<ResourceOf<N>>;
  }
  get<N extends string>(project: string, kind: N, id: string) {
    return this.svc.get(this.caller, project, kind, id) as Promise<ResourceOf<N>>;
  }
  list<N extends string>(project: string, kind: N, options?: ListOptions) {
    return this.svc.list(this.caller, project, kind, options) as Promise<ListPage<ResourceOf<N>>>;
  }
  update<N extends string>(project: string, kind: N, id: string, patch: PatchInput, options?: WriteOptions) {
    return this.svc.update(this.caller, project, kind, id, patch, options) as Promise<ResourceOf<N>>;
  }
  updateStatus<N extends string>(project: string, kind: N, id: string, status: Record<string, unknown>, options?: WriteOptions) {
    return this.svc.updateStatus(this.caller, project, kind, id, status, options) as Promise<ResourceOf<N>>;
  }
  delete(project: string, kind: string, id: string, options?: DeleteOptions) {
    return this.svc.delete(this.caller, project, kind, id, options);
  }
  async *watch(options: WatchOptions): AsyncGenerator<WatchItem> {
    yield* await this.svc.openWatch(this.caller, options);
  }
  async events(options: EventsOptions): Promise<EventsPage> {
    const r = await this.svc.eventsRaw(this.caller, options);
    return { events: r.events.map((e) => JSON.parse(e.json) as InventoryEvent), revision: r.revision };
  }
}

async function* flatten<T>(batches: AsyncGenerator<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

/** Parsed events kept for the watches that read them next (InventoryService.parsed). */
const PARSED_EVENTS = 2048;
/** And at most this much of their JSON (counted as characters). */
const PARSED_BYTES = 8 * 2 ** 20;

/** The ids a new resource's references name (read ahead by its batch); none when they are malformed (the checks say so). */
function refIds(def: KindDef, spec: Record<string, unknown>, status: Record<string, unknown>): string[] {
  return def.refs.length === 0 ? [] : extractRefs(def, { spec, status }).map((r) => r.id);
}

/** Spec paths whose values no error message may show. */
const secretPaths = (def: KindDef): string[] => [...(def.secrets ?? []), ...(def.writeOnly ?? [])];

function kindDef(kind: string): KindDef {
  const def = kindByName(kind);
  if (!def) throw new EimError('invalid_argument', `unknown kind "${String(kind).slice(0, 64)}"`);
  return def;
}

function assertIdOf(def: KindDef, id: string): void {
  if (typeof id !== 'string' || !/^[a-z]+-[0-9a-f]{8}$/.test(id)) {
    throw new EimError('invalid_argument', `"${String(id).slice(0, 64)}" is not a ${def.kind} id: ${def.kind} ids look like ${def.idPrefix}-0a1b2c3d`);
  }
  if (kindById(id)?.kind !== def.kind) throw new EimError('invalid_argument', `${id} is not a ${def.kind} id: ${def.kind} ids look like ${def.idPrefix}-0a1b2c3d`);
}

function assertOnly(body: Record<string, unknown>, allowed: readonly string[], def: KindDef, what = 'body'): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new EimError('invalid_argument', `the ${what} has unknown or read-only field(s) ${extra.map((k) => `"${k.slice(0, 40)}"`).join(', ')}; a ${def.kind} ${what} may hold ${allowed.join(', ')}`);
  }
}

function pageSizeOf(v: number | undefined): number {
  if (v === undefined) return 20;
  if (!Number.isInteger(v) || v < 1) throw new EimError('invalid_argument', 'pageSize must be a whole number ≥ 1 (at most 1000)');
  return Math.min(v, MAX_PAGE);
}

function requireClusterAdmin(caller: Caller, what: string): void {
  if (!caller.grants.some((g) => g.project === ALL_PROJECTS && g.role === 'admin')) {
    throw new EimError('permission_denied', `only a cluster admin may ${what}`);
  }
}

function actorOf(caller: Caller): string {
  const roles = [...new Set(caller.grants.map((g) => g.role))].join(',');
  return `${caller.subject} (${roles})`;
}

/** The identity a Host write checks for uniqueness (assertKindRules), for the store to read ahead; none for other kinds. */
function identityLookups(kind: string, project: string, spec: Record<string, unknown>): { project: string; uuid?: string; serialNumber?: string }[] {
  if (kind !== 'Host') return [];
  // A read-ahead hint, taken before validation: a patch's null (removal) or a wrong type is left to it.
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const { uuid, serialNumber } = usableIdentity({ uuid: text(spec.uuid), serialNumber: text(spec.serialNumber) });
  return uuid === undefined && serialNumber === undefined ? [] : [{ project, ...(uuid !== undefined ? { uuid } : {}), ...(serialNumber !== undefined ? { serialNumber } : {}) }];
}
