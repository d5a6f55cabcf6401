import { ApiError, apiErrorOf } from './api-error.ts';
import type { HostSummary } from '../../../src/api/host-summary.ts';
import type { InventoryEvent, ListPage, Resource } from './resource.ts';

type Fetch = typeof fetch;

/**
 * The REST API with the user's token (ARCHITECTURE.md §5, §6). The token travels only in the
 * Authorization header, never in a URL, so it reaches no log.
 * @example const api = new ApiClient(token); const { items } = await api.listAll('default', 'hosts')
 */
export class ApiClient {
  constructor(
    private readonly token: string,
    /** The server's origin; empty for the page's own. @default '' */
    readonly base = '',
    private readonly fetchImpl: Fetch = (...a) => fetch(...a),
  ) {}

  /** Headers every call carries. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  /** One call; the parsed JSON answer, or an ApiError with the server's code and message. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, {
        method,
        headers: this.headers(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError(0, 'unavailable', `the server is not reachable (${(e as Error).message})`);
    }
    if (!res.ok) throw await apiErrorOf(res);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  /** Every item of a collection (pages of 1000); `revision` is the lowest a page was read at, the one to watch from. */
  async listAll(project: string, kindPath: string, filter?: string, signal?: AbortSignal): Promise<{ items: Resource[]; revision: number }> {
    const items: Resource[] = [];
    let revision = Number.POSITIVE_INFINITY;
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ pageSize: '1000' });
      if (filter) q.set('filter', filter);
      if (pageToken) q.set('pageToken', pageToken);
      const page = await this.request<ListPage>('GET', `/v1/projects/${encodeURIComponent(project)}/${kindPath}?${q}`, undefined, signal);
      items.push(...page.items);
      revision = Math.min(revision, page.revision);
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return { items, revision };
  }

  /** The fleet summary, counted by the server: hosts per category, per site, region or label when `groupBy` says. */
  summarizeHosts(project: string, groupBy?: string, signal?: AbortSignal): Promise<HostSummary> {
    const q = new URLSearchParams(groupBy ? { groupBy } : {});
    return this.request<HostSummary>('GET', `/v1/projects/${encodeURIComponent(project)}/hosts:summary?${q}`, undefined, signal);
  }

  /** The events of one resource, oldest first (the audit trail). */
  async eventsOf(project: string, id: string, signal?: AbortSignal): Promise<InventoryEvent[]> {
    const out: InventoryEvent[] = [];
    let since = 0;
    for (;;) {
      const q = new URLSearchParams({ id, since: String(since), limit: '1000' });
      const page = await this.request<{ events: InventoryEvent[]; revision: number }>('GET', `/v1/projects/${encodeURIComponent(project)}/events?${q}`, undefined, signal);
      out.push(...page.events);
      // A page may stop short of the limit at its byte budget: more follow while it ends at its last event.
      const last = page.events.at(-1)?.revision;
      if (last === undefined || page.revision !== last) return out;
      since = last;
    }
  }

  /** JSON merge patch of name/labels/spec. */
  patch(project: string, kindPath: string, id: string, patch: unknown): Promise<Resource> {
    return this.request('PATCH', `/v1/projects/${encodeURIComponent(project)}/${kindPath}/${id}`, patch);
  }

  delete(project: string, kindPath: string, id: string): Promise<unknown> {
    return this.request('DELETE', `/v1/projects/${encodeURIComponent(project)}/${kindPath}/${id}`);
  }

  /** The projects the token may see. */
  async projects(): Promise<string[]> {
    const r = await this.request<{ items: { name: string }[] }>('GET', '/v1/projects');
    return r.items.map((p) => p.name);
  }
}
