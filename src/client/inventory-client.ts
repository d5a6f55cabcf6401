import {
  ALL_PROJECTS, type CreateInput, type DeleteOptions, type DeleteResult, EimError, type EventsOptions, type EventsPage, type Inventory,
  type HostSummary, type KindDef, kindByName, listAll, type ListOptions, type ListPage, type PatchInput, type Resource, type ResourceOf, type WatchItem,
  type WatchOptions, type WriteOptions,
} from '../api/index.ts';
import { HttpTransport, type TransportOptions } from './http-transport.ts';
import { sseWatch } from './sse-watch.ts';

/**
 * The Inventory interface over HTTP: managers, agents' tooling and the CLI use it exactly like the
 * in-process Inventory. Reads and conditional writes retry on `unavailable`; the watch resumes by
 * itself across connection loss and server restarts.
 * @example const inv = new InventoryClient({ server: 'http://127.0.0.1:8080', token }); await inv.list('default', 'Host')
 */
export class InventoryClient implements Inventory {
  readonly transport: HttpTransport;

  constructor(options: TransportOptions | HttpTransport) {
    this.transport = options instanceof HttpTransport ? options : new HttpTransport(options);
  }

  create<N extends string>(project: string, kind: N, input: CreateInput): Promise<ResourceOf<N>> {
    return this.transport.json({ method: 'POST', path: collection(project, kind), body: input });
  }

  get<N extends string>(project: string, kind: N, id: string): Promise<ResourceOf<N>> {
    return this.transport.json({ method: 'GET', path: `${collection(project, kind)}/${encodeURIComponent(id)}`, idempotent: true });
  }

  list<N extends string>(project: string, kind: N, options: ListOptions = {}): Promise<ListPage<ResourceOf<N>>> {
    const path = project === ALL_PROJECTS ? `/v1/${def(kind).path}` : collection(project, kind);
    return this.transport.json({
      method: 'GET',
      path,
      query: { filter: options.filter, orderBy: options.orderBy, pageSize: options.pageSize, pageToken: options.pageToken },
      idempotent: true,
    });
  }

  /** The fleet summary: hosts per category, over all and per group (`site`, `region`, `label.<key>`, `inheritedLabel.<key>`). */
  summarizeHosts(project: string, options: { filter?: string; groupBy?: string } = {}): Promise<HostSummary> {
    return this.transport.json({ method: 'GET', path: `/v1/projects/${encodeURIComponent(project)}/hosts:summary`, query: { filter: options.filter, groupBy: options.groupBy }, idempotent: true });
  }

  /** Every item of a list, following page tokens. */
  listAll<N extends string>(project: string, kind: N, options: Omit<ListOptions, 'pageToken'> = {}): Promise<{ items: ResourceOf<N>[]; revision: number }> {
    return listAll(this, project, kind, options);
  }

  update<N extends string>(project: string, kind: N, id: string, patch: PatchInput, options: WriteOptions = {}): Promise<ResourceOf<N>> {
    return this.transport.json({
      method: 'PATCH',
      path: `${collection(project, kind)}/${encodeURIComponent(id)}`,
      body: patch,
      headers: ifMatch(options.ifMatch),
      idempotent: options.ifMatch !== undefined,
    });
  }

  updateStatus<N extends string>(project: string, kind: N, id: string, status: Record<string, unknown>, options: WriteOptions = {}): Promise<ResourceOf<N>> {
    return this.transport.json({
      method: 'PATCH',
      path: `${collection(project, kind)}/${encodeURIComponent(id)}/status`,
      body: status,
      headers: ifMatch(options.ifMatch),
      // A merge patch of status sets fields to values: sending it twice is harmless.
      idempotent: true,
    });
  }

  async delete(project: string, kind: string, id: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const res = await this.transport.send({
      method: 'DELETE',
      path: `${collection(project, kind)}/${encodeURIComponent(id)}`,
      query: { force: options.force ? 'true' : undefined },
      headers: ifMatch(options.ifMatch),
      idempotent: true,
    });
    return { removed: res.status === 200, resource: JSON.parse(res.body) as Resource };
  }

  watch(options: WatchOptions): AsyncIterable<WatchItem> {
    const path = options.project === ALL_PROJECTS ? '/v1/watch' : `/v1/projects/${encodeURIComponent(options.project)}/watch`;
    return sseWatch(this.transport, {
      path,
      query: { kinds: options.kinds?.map((k) => def(k).path).join(',') || undefined },
      since: options.since,
      signal: options.signal,
    });
  }

  events(options: EventsOptions): Promise<EventsPage> {
    const path = options.project === ALL_PROJECTS ? '/v1/events' : `/v1/projects/${encodeURIComponent(options.project)}/events`;
    return this.transport.json({
      method: 'GET',
      path,
      query: { since: options.since, limit: options.limit, kinds: options.kinds?.map((k) => def(k).path).join(','), id: options.id },
      idempotent: true,
    });
  }

  close(): void {
    this.transport.close();
  }
}

function def(kind: string): KindDef {
  const d = kindByName(kind);
  if (!d) throw new EimError('invalid_argument', `unknown kind "${kind}"`);
  return d;
}

const collection = (project: string, kind: string) => `/v1/projects/${encodeURIComponent(project)}/${def(kind).path}`;
const ifMatch = (rev: number | undefined): Record<string, string> | undefined => (rev === undefined ? undefined : { 'if-match': `"${rev}"` });
