import { type Inventory, isEimError, jsonEqual, type Resource, type ResourceOf } from '../api/index.ts';
import { Informer } from '../client/index.ts';
import type { BackoffOptions } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';
import { ControllerStoppedError, ReconcileTimeoutError } from './errors.ts';
import type { RateLimitOptions } from './rate-limiter.ts';
import { asError, done, type Result, retry } from './result.ts';
import { StatusReporter } from './status-reporter.ts';
import { WorkQueue } from './work-queue.ts';

/** What one reconcile gets. */
export interface ReconcileContext<R> {
  /** The resource id. */
  key: string;
  /** The cached resource, frozen: never change it. undefined once it is deleted. */
  object: R | undefined;
  /** 1 for the first try, n for the n-th consecutive one (reset by done and requeueAfter). */
  attempt: number;
  /** Aborted on timeout (ReconcileTimeoutError) and on stop (ControllerStoppedError). */
  signal: AbortSignal;
}

export interface ControllerOptions<N extends string = string, R extends Resource = ResourceOf<N> & Resource> {
  /** Names the controller in errors and logs. */
  name: string;
  inventory: Inventory;
  /** A project, or ALL_PROJECTS. */
  project: string;
  kind: N;
  /** A level-based sync of one resource: compare desired with current, act, write status. */
  reconcile(ctx: ReconcileContext<R>): Promise<Result>;
  /** Reconciles running at once (never two for one key). @default 4 */
  workers?: number;
  /** Every cached resource is enqueued this often; 0 turns resync off. @default 600000 */
  resyncMs?: number;
  /** A reconcile running longer is aborted and counts as retry. @default 30000 */
  timeoutMs?: number;
  /** The status triple this controller owns (`hostStatus`); without one, retry and terminal write nothing. */
  statusField?: string;
  /**
   * What `reconcile` reads of its object (what the controller's other listeners enqueue for, such as
   * selector membership, need not be here): an update is news to it only when this differs. A Host
   * changes many times in one power change or heartbeat; a manager that reads none of that is spared
   * its reconciles. @default everything but revision, updatedAt and the statusField triple
   * @example reads: (h) => [h.labels, h.spec.siteId, h.status.inheritedLabels]
   */
  reads?: (object: R) => unknown;
  /** @default systemClock */
  clock?: Clock;
  /** Per-key retry backoff. @default 1 s doubling to 60 s, ±20 % */
  backoff?: BackoffOptions;
  /** Overall retry rate. @default 50 qps, burst 300 */
  rateLimit?: RateLimitOptions;
  /** A shared informer of the kind; its owner starts and stops it. @default one of the controller's own */
  informer?: Informer<N, R>;
  /** AIP-160 filter of the controller's own informer. */
  filter?: string;
  /** Hears what the controller cannot hand back: failed status writes, thrown reconciles. @default writes to stderr */
  onError?: (error: unknown, key?: string) => void;
  /** What every reconcile waits for first: the other caches it reads holding their first list. */
  waitFor?: Promise<unknown>;
}

type Compiled<N extends string, R extends Resource> = Readonly<Required<Pick<ControllerOptions<N, R>, 'workers' | 'resyncMs' | 'timeoutMs' | 'clock' | 'onError'>> & ControllerOptions<N, R>>;

function compileControllerOptions<N extends string, R extends Resource>(o: ControllerOptions<N, R>): Compiled<N, R> {
  const c = {
    ...o,
    workers: o.workers ?? 4,
    resyncMs: o.resyncMs ?? 600_000,
    timeoutMs: o.timeoutMs ?? 30_000,
    clock: o.clock ?? systemClock,
    onError: o.onError ?? ((e: unknown, key?: string) => process.stderr.write(`controller ${o.name}${key ? ` ${key}` : ''}: ${(e as Error)?.stack ?? String(e)}\n`)),
  };
  if (!Number.isInteger(c.workers) || c.workers < 1) throw new RangeError(`controller ${o.name}: workers must be a whole number ≥ 1 (got ${c.workers})`);
  if (!(c.timeoutMs > 0)) throw new RangeError(`controller ${o.name}: timeoutMs must be > 0 (got ${c.timeoutMs})`);
  if (!(c.resyncMs >= 0)) throw new RangeError(`controller ${o.name}: resyncMs must be ≥ 0 (got ${c.resyncMs})`);
  return Object.freeze(c);
}

/** Counters for metrics. */
export interface ControllerStats {
  /** Reconcile calls started. */
  reconciles: number;
  done: number;
  requeues: number;
  /** retry results, including timeouts and thrown errors. */
  retries: number;
  timeouts: number;
  terminals: number;
  /** Pops skipped because the resource is parked after a terminal failure. */
  skipped: number;
  /** Failed status writes and thrown reconciles (also reported to onError). */
  errors: number;
  resyncs: number;
  /** Keys ready to be handed to a worker. */
  queueLength: number;
  /** Keys waiting for a delayed add (backoff, requeueAfter). */
  queueDelayed: number;
  inFlight: number;
}

/**
 * A controller in the manner of Kubernetes' sample-controller: informer handlers only enqueue ids;
 * N workers pop an id, read the resource from the cache and run `reconcile`. Its result decides what
 * follows: done forgets the backoff, requeueAfter looks again later, retry shows `in_progress` and
 * backs off, terminal shows `error` and parks the resource until its generation changes.
 * @example const c = new Controller({ name: 'host', inventory, project: ALL_PROJECTS, kind: 'Host', statusField: 'hostStatus', reconcile: async ({ object }) => done() }); c.start(); … await c.stop()
 */
export class Controller<N extends string = string, R extends Resource = ResourceOf<N> & Resource> {
  readonly informer: Informer<N, R>;
  readonly queue: WorkQueue<string>;
  private readonly o: Compiled<N, R>;
  private readonly status: StatusReporter;
  private readonly ownsInformer: boolean;
  private readonly counters = { reconciles: 0, done: 0, requeues: 0, retries: 0, timeouts: 0, terminals: 0, skipped: 0, errors: 0, resyncs: 0 };
  private readonly inFlight = new Set<AbortController>();
  /** Reconciles not yet settled, also those whose worker moved on after a timeout. */
  private readonly outstanding = new Set<Promise<unknown>>();
  private workers: Promise<void>[] = [];
  private resyncTimer: unknown;
  private started = false;
  private stopping?: Promise<void>;
  private markStopped!: () => void;
  private readonly stopped = new Promise<void>((r) => (this.markStopped = r));

  constructor(options: ControllerOptions<N, R>) {
    this.o = compileControllerOptions(options);
    const { inventory, project, kind, filter, clock, statusField } = this.o;
    this.ownsInformer = !options.informer;
    this.informer = options.informer ?? new Informer<N, R>({ inventory, project, kind, filter, onHandlerError: (e) => this.fail(e) });
    this.queue = new WorkQueue({ clock, backoff: this.o.backoff, rateLimit: this.o.rateLimit });
    this.status = new StatusReporter({ inventory, statusField, clock });
  }

  /** Starts the informer (idempotent when shared), the workers once it has synced, and the resync timer. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    this.informer.on({
      add: (obj) => this.queue.add(obj.id),
      update: (old, obj) => this.changed(old, obj) && this.queue.add(obj.id),
      delete: (obj) => this.queue.add(obj.id),
    });
    // A shared informer may have synced already: its adds for what it holds went out before we listened.
    for (const obj of this.informer.list()) this.queue.add(obj.id);
    this.informer.start();
    for (let i = 0; i < this.o.workers; i++) this.workers.push(this.work());
    this.scheduleResync();
    return this;
  }

  /** Stops taking work, aborts in-flight reconciles, waits for them, stops its own informer; leaves no timer behind. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.markStopped();
      this.o.clock.clearTimeout(this.resyncTimer);
      this.queue.shutDown();
      for (const ac of this.inFlight) ac.abort(new ControllerStoppedError(this.o.name));
      await Promise.all(this.workers);
      await Promise.allSettled([...this.outstanding]);
      if (this.ownsInformer) await this.informer.stop();
    })();
    return this.stopping;
  }

  /** Resolves once the informer holds its first list. */
  get synced(): Promise<void> {
    return this.informer.synced;
  }

  stats(): ControllerStats {
    return { ...this.counters, queueLength: this.queue.len, queueDelayed: this.queue.waiting, inFlight: this.inFlight.size };
  }

  private async work(): Promise<void> {
    await Promise.race([this.informer.synced, this.stopped]);
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const object = this.informer.get(key);
    if (!object) this.status.release(key);
    else if (this.status.isParked(object)) {
      this.counters.skipped++;
      this.queue.forget(key);
      await this.status.flush(object).catch((e) => (this.fail(e, key), this.queue.addRateLimited(key)));
      return this.queue.done(key);
    }
    const attempt = this.queue.attempts(key) + 1;
    const ac = new AbortController();
    const { clock, timeoutMs, name } = this.o;
    const timer = clock.setTimeout(() => ac.abort(new ReconcileTimeoutError(name, key, timeoutMs)), timeoutMs);
    this.inFlight.add(ac);
    this.counters.reconciles++;
    let settled = false;
    const run = this.invoke({ key, object, attempt, signal: ac.signal }).finally(() => (settled = true));
    this.outstanding.add(run);
    void run.finally(() => this.outstanding.delete(run));
    const aborted = new Promise<undefined>((resolve) => ac.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    let result = await Promise.race([run, aborted]);
    clock.clearTimeout(timer);
    this.inFlight.delete(ac);
    if (result === undefined && ac.signal.reason instanceof ReconcileTimeoutError) {
      this.counters.timeouts++;
      result = retry(ac.signal.reason);
    }
    // undefined: aborted by stop(), whose result nobody acts on (the next start resyncs).
    if (result !== undefined) await this.settle(key, object, attempt, result);
    // A reconcile that ignored its aborted signal keeps its key until it returns: never two at once.
    if (settled) this.queue.done(key);
    else void run.finally(() => this.queue.done(key));
  }

  /**
   * Runs the user's reconcile; a throw or a malformed answer is a retry. A throw for a resource
   * removed meanwhile (a forced delete, a cascade from its host) is no failure: its DELETED event
   * brings the reconcile that cleans up.
   */
  private async invoke(ctx: ReconcileContext<R>): Promise<Result> {
    try {
      await this.o.waitFor;
      const r = await this.o.reconcile(ctx);
      if (r && typeof r === 'object' && typeof (r as { type?: unknown }).type === 'string') return r;
      throw new TypeError(`reconcile returned ${String(r)} instead of a Result (done(), requeueAfter(ms), retry(err) or terminal(err))`);
    } catch (e) {
      if (ctx.object && !ctx.signal.aborted && (await this.vanished(ctx.object))) return done();
      if (!ctx.signal.aborted) this.fail(e, ctx.key);
      return retry(e);
    }
  }

  /** Whether the resource is gone from the store (a store that cannot say counts as not gone). */
  private async vanished(r: R): Promise<boolean> {
    try {
      await this.o.inventory.get(r.project, r.kind, r.id);
      return false;
    } catch (e) {
      return isEimError(e) && e.code === 'not_found';
    }
  }

  private async settle(key: string, object: R | undefined, attempt: number, result: Result): Promise<void> {
    switch (result.type) {
      case 'done':
        this.counters.done++;
        this.queue.forget(key);
        return;
      case 'requeueAfter':
        this.counters.requeues++;
        this.queue.forget(key);
        this.queue.addAfter(key, result.ms);
        return;
      case 'retry':
        this.counters.retries++;
        if (object) await this.status.retrying(object, attempt, asError(result.error)).catch((e) => this.fail(e, key));
        this.queue.addRateLimited(key);
        return;
      case 'terminal':
        this.counters.terminals++;
        this.queue.forget(key);
        // A failed write leaves the resource parked in memory; the next pop only retries the write.
        if (object) await this.status.terminal(object, asError(result.error)).catch((e) => (this.fail(e, key), this.queue.addRateLimited(key)));
        return;
    }
  }

  /** Whether an update is worth a reconcile: anything but the echo of our own status triple. */
  /**
   * Whether an update is news to this controller: anything but the revision, updatedAt and the
   * status triple it writes itself. Compared in place (no serialising): every controller of a kind
   * asks this for every event, and a Host with its hardware is large.
   */
  private changed(old: R, obj: R): boolean {
    if (this.o.reads) return !jsonEqual(this.o.reads(old), this.o.reads(obj));
    if (old.generation !== obj.generation) return true;
    const a = old as unknown as Record<string, unknown>;
    const b = obj as unknown as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (k === 'revision' || k === 'updatedAt' || k === 'status') continue;
      if (!jsonEqual(a[k], b[k])) return true;
    }
    const sa = (old.status ?? {}) as Record<string, unknown>;
    const sb = (obj.status ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(sa), ...Object.keys(sb)])) {
      if (k !== this.o.statusField && !jsonEqual(sa[k], sb[k])) return true;
    }
    return false;
  }

  private scheduleResync(): void {
    if (!this.o.resyncMs) return;
    this.resyncTimer = this.o.clock.setTimeout(() => {
      this.counters.resyncs++;
      for (const obj of this.informer.list()) this.queue.add(obj.id);
      this.scheduleResync();
    }, this.o.resyncMs);
  }

  private fail(e: unknown, key?: string): void {
    this.counters.errors++;
    try {
      this.o.onError(e, key);
    } catch (bug) {
      // A throwing onError must not kill a worker; stderr is the last place left to say it.
      process.stderr.write(`controller ${this.o.name}: onError threw ${String(bug)} while reporting ${String(e)}\n`);
    }
  }
}
