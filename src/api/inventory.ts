import type { ResourceOf } from './kind-types.ts';
import type { InventoryEvent, Resource, Role } from './resource.ts';

/** Stands for "every project" where an all-projects call is allowed (managers, cluster admins). */
export const ALL_PROJECTS = '*';

/** One role in one project (or in every project: `*`). */
export interface Grant {
  project: string;
  role: Role;
}

/** Who is calling: from a verified token, or a manager running in-process. */
export interface Caller {
  subject: string;
  grants: readonly Grant[];
  /** The token's id (revocable), when the caller came with one. */
  tokenId?: string;
  /** An agent token's host. */
  hostId?: string;
  /** An enrollment token that may register unknown hosts. */
  autoRegister?: boolean;
  /**
   * The managers' leader epoch (never from a token): set by a server for the managers it runs while
   * it holds the managers lock of a shared database, so that their writes are refused once another
   * server has taken the managers over (`WriteOptions.fence` of the store).
   */
  fence?: number;
}

export interface ListOptions {
  /** AIP-160 subset: `spec.siteId = site-0a1b2c3d AND labels.line = "3"`. */
  filter?: string;
  /** AIP-132: `name desc, createdAt`. */
  orderBy?: string;
  /** At most this many items; a page of large resources holds fewer (a byte budget). @default 20 (at most 1000) */
  pageSize?: number;
  pageToken?: string;
}

export interface ListPage<R = Resource> {
  /** At most `pageSize`, and no more than the server's byte budget (4 MiB) holds: at least one. */
  items: R[];
  /** The store revision the page is consistent with: watch from here. */
  revision: number;
  /** Present exactly when more follow (also on a page shorter than `pageSize`): pass it as `pageToken`. */
  nextPageToken?: string;
  totalSize: number;
}

export interface CreateInput {
  name: string;
  labels?: Record<string, string>;
  spec?: unknown;
  /** Only for kinds that managers create (discovered devices, update runs). */
  status?: unknown;
}

/** A JSON merge patch (RFC 7386) of the user-writable fields. */
export interface PatchInput {
  name?: string;
  labels?: Record<string, string | null> | null;
  spec?: unknown;
}

export interface WriteOptions {
  /** Refuse with `conflict` unless the resource is still at this revision. */
  ifMatch?: number;
}

export interface DeleteOptions extends WriteOptions {
  /** Remove at once, also for hosts and instances whose node is gone (admin). */
  force?: boolean;
}

export interface DeleteResult {
  /** true: the row is gone. false: deletion was requested (two-phase) and a manager finishes it. */
  removed: boolean;
  resource: Resource;
}

export interface WatchOptions {
  /** A project, or ALL_PROJECTS. */
  project: string;
  /** Kind names (`Host`); all kinds when absent. */
  kinds?: readonly string[];
  /** Events after this revision; from now when absent. */
  since?: number;
  signal?: AbortSignal;
  /** A bookmark after this long without a delivered event. @default 10000 */
  bookmarkMs?: number;
}

export type WatchItem =
  | { type: 'event'; revision: number; json: string; event(): InventoryEvent }
  | { type: 'bookmark'; revision: number };

export interface EventsOptions {
  project: string;
  since?: number;
  /** @default 100 (at most 1000) */
  limit?: number;
  kinds?: readonly string[];
  id?: string;
}

export interface EventsPage {
  events: InventoryEvent[];
  /** Ask again with `since` = this to continue. */
  revision: number;
}

/**
 * The Inventory as every consumer sees it, in-process (`inventory/`) or over HTTP (`client/`).
 * Kinds are named as in the registry (`Host`); with a literal kind the result is typed from its
 * schemas (`get(p, 'Host', id)` gives `spec.desiredState`).
 */
export interface Inventory {
  create<N extends string>(project: string, kind: N, input: CreateInput): Promise<ResourceOf<N>>;
  get<N extends string>(project: string, kind: N, id: string): Promise<ResourceOf<N>>;
  list<N extends string>(project: string, kind: N, options?: ListOptions): Promise<ListPage<ResourceOf<N>>>;
  update<N extends string>(project: string, kind: N, id: string, patch: PatchInput, options?: WriteOptions): Promise<ResourceOf<N>>;
  updateStatus<N extends string>(project: string, kind: N, id: string, status: Record<string, unknown>, options?: WriteOptions): Promise<ResourceOf<N>>;
  delete(project: string, kind: string, id: string, options?: DeleteOptions): Promise<DeleteResult>;
  watch(options: WatchOptions): AsyncIterable<WatchItem>;
  events(options: EventsOptions): Promise<EventsPage>;
}
