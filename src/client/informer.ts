import { type Inventory, isEimError, type Resource, type ResourceOf } from '../api/index.ts';
import { evaluateFilter, type FilterNode, parseFilter } from '../api/filter.ts';

export interface InformerHandlers<R> {
  add?(obj: R): void;
  update?(old: R, obj: R): void;
  delete?(obj: R): void;
}

export interface InformerOptions {
  inventory: Inventory;
  /** A project, or ALL_PROJECTS (managers). */
  project: string;
  kind: string;
  /** AIP-160 filter: only matching resources are cached (applied to events too). */
  filter?: string;
  /** Delay before relisting after an error. @default 1000 */
  retryDelayMs?: number;
  /** Hears a handler's exception (the cache goes on). @default writes it to stderr */
  onHandlerError?: (error: unknown) => void;
}

/**
 * A read-only cache of one kind, kept current by list + watch. Handlers hear adds, updates and
 * deletes; a relist (after `revision_compacted`) reports the difference, so nothing is missed.
 * Cached objects are frozen: never change what the cache holds.
 * @example const hosts = new Informer({ inventory, project: 'default', kind: 'Host' }); hosts.on({ add: (h) => … }); hosts.start(); await hosts.synced
 */
export class Informer<N extends string = string, R extends Resource = ResourceOf<N> & Resource> {
  private cache = new Map<string, R>();
  private readonly handlers: InformerHandlers<R>[] = [];
  private readonly abort = new AbortController();
  private readonly filter?: FilterNode;
  private markSynced!: () => void;
  private running?: Promise<void>;
  /** Resolves once the first list is in the cache. */
  readonly synced: Promise<void>;
  /** The newest revision applied to the cache. */
  revision = 0;

  constructor(private readonly options: InformerOptions & { kind: N }) {
    this.filter = options.filter ? parseFilter(options.filter) : undefined;
    this.synced = new Promise((r) => (this.markSynced = r));
  }

  on(handlers: InformerHandlers<R>): this {
    this.handlers.push(handlers);
    return this;
  }

  get(id: string): R | undefined {
    return this.cache.get(id);
  }

  list(): R[] {
    return [...this.cache.values()];
  }

  get size(): number {
    return this.cache.size;
  }

  start(): this {
    this.running ??= this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.relist();
        this.markSynced();
        for await (const item of this.options.inventory.watch({ project: this.options.project, kinds: [this.options.kind], since: this.revision, signal })) {
          if (item.type === 'bookmark') {
            this.revision = Math.max(this.revision, item.revision);
            continue;
          }
          this.apply(item.event());
        }
      } catch (e) {
        if (signal.aborted) return;
        if (!(isEimError(e) && e.code === 'revision_compacted')) await sleep(this.options.retryDelayMs ?? 1000, signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, R>();
    let token: string | undefined;
    let revision = 0;
    do {
      const page = await this.options.inventory.list(this.options.project, this.options.kind, { filter: this.options.filter, pageSize: 1000, pageToken: token });
      if (!revision) revision = page.revision;
      for (const item of page.items) fresh.set(item.id, deepFreeze(item as unknown as R));
      token = page.nextPageToken;
    } while (token);
    const old = this.cache;
    this.cache = fresh;
    this.revision = revision;
    for (const [id, obj] of fresh) {
      const before = old.get(id);
      if (!before) this.emit('add', obj);
      else if (before.revision !== obj.revision) this.emit('update', obj, before);
    }
    for (const [id, obj] of old) if (!fresh.has(id)) this.emit('delete', obj);
  }

  private apply(ev: { type: string; revision: number; id: string; object: Resource }): void {
    if (ev.revision <= this.revision) return;
    this.revision = ev.revision;
    const before = this.cache.get(ev.id);
    const obj = deepFreeze(ev.object as unknown as R);
    const matches = ev.type !== 'DELETED' && (!this.filter || evaluateFilter(this.filter, obj));
    if (!matches) {
      if (before) {
        this.cache.delete(ev.id);
        this.emit('delete', ev.type === 'DELETED' ? obj : before);
      }
      return;
    }
    this.cache.set(ev.id, obj);
    if (before) this.emit('update', obj, before);
    else this.emit('add', obj);
  }

  private emit(what: 'add' | 'update' | 'delete', obj: R, before?: R): void {
    for (const h of this.handlers) {
      try {
        if (what === 'add') h.add?.(obj);
        else if (what === 'update') h.update?.(before!, obj);
        else h.delete?.(obj);
      } catch (e) {
        // A handler's bug must not stop the cache (handlers only enqueue keys), nor go unheard.
        (this.options.onHandlerError ?? ((err) => process.stderr.write(`informer ${this.options.kind}: handler failed: ${(err as Error).stack ?? err}\n`)))(e);
      }
    }
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
