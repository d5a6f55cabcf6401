import type { ApiClient } from '../api/api-client.ts';
import { ApiError, apiErrorOf } from '../api/api-error.ts';
import type { InventoryEvent } from '../api/resource.ts';
import { SseParser } from '../api/sse-parser.ts';
import type { ResourceStore } from './resource-store.ts';

/** A collection to hold: its REST path, kind name, and an optional list filter. */
export interface WatchedKind {
  path: string;
  kind: string;
  filter?: string;
}

export interface ConnectionStatus {
  /** `connecting`: listing; `live`: the stream is open; `reconnecting`: waiting to resume; `stopped`: refused for good. */
  state: 'connecting' | 'live' | 'reconnecting' | 'stopped';
  /** The last revision seen (events and bookmarks): where a reconnect resumes. */
  revision: number;
  /** Failed attempts since the stream was last open. */
  attempt: number;
  /** Full lists made: 1 at start, +1 per `revision_compacted`. */
  lists: number;
  /** Times the stream was reopened from `revision` without a list. */
  resumes: number;
  /** Events applied since start. */
  events: number;
  error?: string;
}

export interface LiveSyncOptions {
  api: ApiClient;
  project: string;
  kinds: readonly WatchedKind[];
  store: ResourceStore;
  /** Reconnect delay bounds. @default 250 → 5000 ms */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Reconnect when nothing (not even a BOOKMARK) arrived for this long. @default 30000 */
  idleTimeoutMs?: number;
}

/**
 * Lists the kinds, then keeps the store current from the watch stream (never by polling). The
 * stream is read with fetch() so the token goes in the Authorization header. On a lost connection
 * it reconnects with backoff and resumes from the last revision (`Last-Event-ID`); on
 * `revision_compacted` (410) it lists again.
 * @example const sync = new LiveSync({ api, project: 'default', kinds: [{ path: 'hosts', kind: 'Host' }], store }); sync.start()
 */
export class LiveSync {
  private readonly abort = new AbortController();
  private readonly listeners = new Set<(s: ConnectionStatus) => void>();
  status: ConnectionStatus = { state: 'connecting', revision: 0, attempt: 0, lists: 0, resumes: 0, events: 0 };
  private running?: Promise<void>;

  constructor(private readonly o: LiveSyncOptions) {}

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  onStatus(listener: (s: ConnectionStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<ConnectionStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const l of this.listeners) l(this.status);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let needList = true;
    let delay = this.o.minDelayMs ?? 250;
    while (!signal.aborted) {
      try {
        if (needList) {
          this.set({ state: this.status.lists === 0 ? 'connecting' : 'reconnecting' });
          await this.list(signal);
          needList = false;
        } else {
          this.set({ resumes: this.status.resumes + 1 });
        }
        await this.stream(signal);
        delay = this.o.minDelayMs ?? 250;
      } catch (e) {
        if (signal.aborted) break;
        const err = e instanceof ApiError ? e : new ApiError(0, 'unavailable', (e as Error).message);
        if (err.code === 'revision_compacted') {
          needList = true;
          continue;
        }
        if (err.code === 'unauthenticated' || err.code === 'permission_denied' || err.code === 'not_found') {
          this.set({ state: 'stopped', error: err.message });
          return;
        }
        this.set({ state: 'reconnecting', attempt: this.status.attempt + 1, error: err.message });
      }
      if (signal.aborted) break;
      if (this.status.state === 'live') this.set({ state: 'reconnecting', attempt: this.status.attempt + 1 });
      await sleep(delay * (0.5 + Math.random() / 2), signal);
      delay = Math.min(delay * 2, this.o.maxDelayMs ?? 5000);
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const lists = await Promise.all(this.o.kinds.map((k) => this.o.api.listAll(this.o.project, k.path, k.filter, signal)));
    this.o.kinds.forEach((k, i) => this.o.store.replace(k.kind, lists[i].items));
    this.o.store.notify();
    this.set({ revision: Math.min(...lists.map((l) => l.revision)), lists: this.status.lists + 1 });
  }

  /** Reads the stream until it ends or fails; applies events as they come. */
  private async stream(outer: AbortSignal): Promise<void> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    outer.addEventListener('abort', onAbort, { once: true });
    const idleMs = this.o.idleTimeoutMs ?? 30_000;
    let idle = setTimeout(() => ctl.abort(), idleMs);
    try {
      const since = String(this.status.revision);
      const q = new URLSearchParams({ kinds: this.o.kinds.map((k) => k.path).join(','), since });
      let res: Response;
      try {
        res = await fetch(`${this.o.api.base}/v1/projects/${encodeURIComponent(this.o.project)}/watch?${q}`, {
          headers: this.o.api.headers({ accept: 'text/event-stream', 'last-event-id': since }),
          signal: ctl.signal,
          cache: 'no-store',
        });
      } catch (e) {
        throw new ApiError(0, 'unavailable', `the server is not reachable (${(e as Error).message})`);
      }
      if (!res.ok) throw await apiErrorOf(res);
      if (!res.body) throw new ApiError(0, 'unavailable', 'the watch stream has no body');
      this.set({ state: 'live', attempt: 0, error: undefined });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new ApiError(0, 'unavailable', 'the server closed the watch stream');
        clearTimeout(idle);
        idle = setTimeout(() => ctl.abort(), idleMs);
        let revision = this.status.revision;
        let events = 0;
        for (const f of parser.push(value)) {
          if (f.event === 'ERROR') {
            const body = JSON.parse(f.data) as { error: { code: string; message: string } };
            throw new ApiError(0, body.error.code, body.error.message);
          }
          const r = Number(f.id ?? JSON.parse(f.data).revision);
          if (f.event !== 'BOOKMARK') {
            if (r <= revision) continue;
            this.o.store.apply(JSON.parse(f.data) as InventoryEvent);
            events++;
          }
          if (r > revision) revision = r;
        }
        this.o.store.notify();
        if (revision !== this.status.revision || events) this.set({ revision, events: this.status.events + events });
      }
    } catch (e) {
      if (ctl.signal.aborted && !outer.aborted) throw new ApiError(0, 'unavailable', `nothing arrived for ${idleMs / 1000} s`);
      throw e;
    } finally {
      clearTimeout(idle);
      outer.removeEventListener('abort', onAbort);
      ctl.abort();
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, signal.aborted ? 0 : ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
