import type { FilterNode, OrderTerm } from '../api/filter.ts';
import type { EventType, InventoryEvent, Resource } from '../api/index.ts';
import type { AuthStore, TokenRecord } from './auth-store.ts';
import type { CountByQuery, CountRow } from './count-by.ts';
import type { LeaseStore } from './lease-store.ts';
import type { TelemetryStore } from './telemetry-store.ts';

/** An event with its wire form, serialised once at commit. */
export interface LoggedEvent {
  readonly revision: number;
  readonly project: string;
  readonly kind: string;
  readonly id: string;
  readonly type: EventType;
  /** The event JSON, exactly as watchers receive it. */
  readonly json: string;
}

/** Reads and writes available to a mutation inside a write transaction. */
export interface WriteTx {
  /** Commit time of this transaction (every write in it is stamped with it). */
  readonly at: string;
  get(id: string): Promise<Resource | undefined>;
  /** Where a resource is (its project and kind), without reading it whole: enough to check a reference. */
  placeOf(id: string): Promise<{ project: string; kind: string } | undefined>;
  getByName(project: string, kind: string, name: string): Promise<Resource | undefined>;
  /** In one read: whether `id` is taken, and who holds `name` for the kind in the project. */
  clashes(id: string, project: string, kind: string, name: string): Promise<{ idTaken: boolean; nameOwner?: string }>;
  /** Hosts of the project holding this identity (see Store.hostsByIdentity). */
  hostsByIdentity(project: string, identity: HostIdentity, limit: number): Promise<HostIdentityMatch[]>;
  /** Resources whose references point at `id`. */
  referrers(id: string, limit: number): Promise<{ id: string; owner: boolean }[]>;
  /**
   * Inserts unless the id or the (project, kind, name) is taken, in one statement; on a clash
   * nothing is written and the answer says which.
   */
  insertIfFree(resource: Omit<Resource, 'revision' | 'createdAt' | 'updatedAt'>, actor: string): Promise<{ resource?: Resource; idTaken?: boolean; nameOwner?: string }>;
  /** Replaces a resource's stored state; revision and updatedAt are stamped here. */
  update(resource: Resource, actor: string, refsChanged: boolean): Promise<Resource>;
  /** Removes a resource (and its secrets) and logs its last state. */
  remove(resource: Resource, actor: string): Promise<Resource>;
  /**
   * Records an issued token in this transaction, so it exists exactly when the writes beside it
   * do (enrolment: the agent token and the host status that names the enrolment). Call it last:
   * it is a write, so nothing may be refused after it.
   */
  insertToken(record: TokenRecord): Promise<void>;
  /** The write-only values stored for a resource of this project (undefined: none, or not of this project). */
  getSecrets(project: string, id: string): Promise<Record<string, unknown> | undefined>;
  /** Stores a resource's write-only values (none: removes them). Never logged. */
  putSecrets(id: string, project: string, secrets: Record<string, unknown> | undefined): Promise<void>;
}

/**
 * A unit of work run inside one write transaction. It makes all its checks before its first write:
 * a refusal (an EimError) thrown before writing lets the other writes of the batch commit.
 */
export type Mutation<T> = (tx: WriteTx) => Promise<T>;

export interface ListQuery {
  /** undefined: every project (managers and cluster admins only). */
  project?: string;
  kind: string;
  filter?: FilterNode;
  orderBy?: OrderTerm[];
  offset: number;
  limit: number;
  /** Items after this (name, id), for lists in name order (seek instead of offset). */
  after?: { name: string; id: string };
  /** The total is known (from the first page): skip counting. */
  knownTotal?: number;
  /**
   * Stop before the items exceed this many bytes (name, labels, spec and status as JSON, UTF-8):
   * a page of big resources holds fewer than `limit`. The first item always comes, so a reader
   * makes progress. @default LIST_PAGE_BYTES (4 MiB)
   */
  maxBytes?: number;
}

/** A list page's byte budget when the query names none: 1,000 resources of 256 KiB would be 256 MB. */
export const LIST_PAGE_BYTES = 4 * 1024 * 1024;

export interface ListResult {
  items: Resource[];
  totalSize: number;
  /** The store revision the items are consistent with; watch from here. */
  revision: number;
  /**
   * Whether more items may follow: `limit` or `maxBytes` ended the page (read on after its last
   * item, with `after` or `offset`). False when the page reached the end.
   */
  more: boolean;
}

export interface EventQuery {
  /** Events with revision > after. */
  after: number;
  limit: number;
  project?: string;
  kinds?: readonly string[];
  id?: string;
  /**
   * Stop before the events' JSON exceeds this many bytes (UTF-8); the first event always comes, so
   * a reader makes progress. Without it, `limit` alone bounds the answer.
   */
  maxBytes?: number;
}

/** Retention: events are kept while younger than maxAgeMs OR among the newest minEvents. */
export interface RetentionOptions {
  minAgeMs: number;
  minEvents: number;
}

/** A host's identity as looked up: the uuid in lower case, the serial number as it is. */
export interface HostIdentity {
  uuid?: string;
  serialNumber?: string;
}

/** A host holding (part of) an identity, with what it holds (its uuid in lower case). */
export interface HostIdentityMatch {
  id: string;
  name: string;
  uuid?: string;
  serialNumber?: string;
}

/** A host identity a write will look up (a Host create or identity change), in its project. */
export type IdentityLookup = HostIdentity & { project: string };

/** A name a create will take: (project, kind, name) is unique. */
export interface NameClaim {
  project: string;
  kind: string;
  name: string;
}

/** What a write says ahead of what it will read and create (see Store.write). */
export interface WriteOptions {
  reads?: readonly string[];
  identities?: readonly IdentityLookup[];
  creates?: readonly NameClaim[];
  /**
   * The managers' leader epoch this write was made under (`Store.takeLeaderEpoch`): refused with
   * `unavailable` once another server has taken the managers over (a newer epoch). Only where
   * several processes share the store (PostgreSQL); a sole process is always the leader.
   */
  fence?: number;
}

/** The persistence layer, implemented for SQLite and PostgreSQL with the same behaviour. */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Signing keys and issued tokens. */
  readonly auth: AuthStore;
  /** Collected samples and log lines (not resources: never in the event log). */
  readonly telemetry: TelemetryStore;
  /** Agents' connection leases, shared by the servers on the database (not resources: never in the event log). */
  readonly leases: LeaseStore;
  /**
   * Runs a mutation in a write transaction (grouped with concurrent ones into one commit).
   * `reads`: the resources it will get by id, which the store may read together with those of
   * the other writes of its commit. `identities`: the host identities it will look up
   * (`WriteTx.hostsByIdentity`), read ahead the same way. `creates`: the names it will create
   * (`WriteTx.insertIfFree`), checked ahead, so creates of free names can be inserted together.
   */
  write<T>(mutation: Mutation<T>, options?: WriteOptions): Promise<T>;
  get(id: string): Promise<Resource | undefined>;
  /** The write-only values stored for a resource of this project (undefined: none, or not of this project). */
  getSecrets(project: string, id: string): Promise<Record<string, unknown> | undefined>;
  /**
   * Hosts of `project` whose `spec.uuid` (compared in lower case: pass it lower-cased) equals
   * `identity.uuid` or whose `spec.serialNumber` equals `identity.serialNumber`, exactly; at most
   * `limit`, in one query over two indexes. The values are parameters, never query text.
   */
  hostsByIdentity(project: string, identity: HostIdentity, limit: number): Promise<HostIdentityMatch[]>;
  /**
   * Resources of `project` and of one of `kinds` that refer to `targetId` (e.g. a host's devices,
   * through their `status.hostId`), in id order, at most `limit`: one query through the reference
   * index, with every value a parameter.
   */
  referringTo(project: string, targetId: string, kinds: readonly string[], limit: number): Promise<Resource[]>;
  list(query: ListQuery): Promise<ListResult>;
  /** Logged events in revision order; throws `revision_compacted` when `after` is older than the log. */
  readEvents(query: EventQuery): Promise<LoggedEvent[]>;
  /**
   * `readEvents`, saying whether more may follow: `more` is true when `limit` or `maxBytes` ended
   * the page (read on after its last event), false when it reached the end of the log.
   */
  readEventPage(query: EventQuery): Promise<{ events: LoggedEvent[]; more: boolean }>;
  currentRevision(): Promise<number>;
  /**
   * Moves the managers' leader epoch on and returns the new one: called by a server that has just
   * taken the managers lock, before its managers write. Writes fenced with an older epoch are
   * refused from then on (`WriteOptions.fence`).
   */
  takeLeaderEpoch(): Promise<number>;
  /** Deletes events outside retention; returns the new compacted revision. */
  compact(options: RetentionOptions, now: Date): Promise<number>;
  /** Called after every local commit with its events, in revision order. */
  onCommit(listener: (events: LoggedEvent[]) => void): void;
  /** Called when another process committed (PostgreSQL NOTIFY); a wake-up only, read the log. */
  onRemoteCommit(listener: (revision?: number) => void): void;
  ensureProject(name: string): Promise<boolean>;
  listProjects(): Promise<{ name: string; createdAt: string }[]>;
  deleteProject(name: string): Promise<void>;
  countResources(project?: string): Promise<number>;
  /** A kind's resources counted per distinct combination of some fields (one aggregate query). */
  countBy(query: CountByQuery): Promise<CountRow[]>;
  close(): Promise<void>;
}

/** Builds the JSON of an event once; it is stored and sent as is. */
export function eventJson(type: EventType, object: Resource, actor: string, at: string): string {
  const ev: InventoryEvent = { type, revision: object.revision, kind: object.kind, id: object.id, project: object.project, object, actor, at };
  return JSON.stringify(ev);
}
