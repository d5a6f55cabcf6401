import { isEimError } from '../api/index.ts';
import type { LoggedEvent, Store } from '../store/index.ts';

export interface WatchHubOptions {
  /** Recent events kept in memory for watchers; older ones are read from the log. @default 20000 */
  ringSize?: number;
}

/**
 * The in-memory tail of the event log, in revision order with no gaps. Local commits are appended
 * directly when they follow on; anything else (another process's commit, a gap) is read from the
 * log, which is the truth. Watchers keep a cursor and read from here or, when they are further
 * behind than the ring reaches, from the log.
 */
export class WatchHub {
  private ring: LoggedEvent[] = [];
  private lastRevision = 0;
  private waiters = new Set<() => void>();
  private catchingUp = false;
  private again = false;
  private readonly ringSize: number;
  private closed = false;

  constructor(
    private readonly store: Store,
    options: WatchHubOptions = {},
  ) {
    this.ringSize = options.ringSize ?? 20000;
  }

  async start(): Promise<void> {
    this.lastRevision = await this.store.currentRevision();
    this.store.onCommit((events) => this.ingest(events));
    this.store.onRemoteCommit((revision) => {
      if (revision === undefined || revision > this.lastRevision) void this.catchUp();
    });
    await this.catchUp(); // a commit between reading the revision and subscribing
  }

  /** The newest revision watchers can see. */
  get last(): number {
    return this.lastRevision;
  }

  /** Revision before the first event held in memory. */
  get ringFloor(): number {
    return this.ring.length > 0 ? this.ring[0].revision - 1 : this.lastRevision;
  }

  /**
   * Events after `position` from memory (at most `max`), or undefined when `position` is older
   * than the ring and the caller must read the log.
   */
  read(position: number, max: number): LoggedEvent[] | undefined {
    if (position < this.ringFloor) return undefined;
    const start = this.ring.length === 0 ? 0 : position - this.ring[0].revision + 1;
    return this.ring.slice(start, start + max);
  }

  /** Resolves on the next appended event, or after `ms`. Returns false on timeout. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(false);
      let done = false;
      const finish = (v: boolean) => {
        if (done) return;
        done = true;
        this.waiters.delete(wake);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      const wake = () => finish(true);
      this.waiters.add(wake);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private ingest(events: LoggedEvent[]): void {
    // Appended even while a catch-up runs (on PostgreSQL our own NOTIFY starts one after nearly
    // every commit): append() skips what it already has, and without this `last` would lag behind
    // writes already acknowledged, so a watch "from now" would replay them.
    if (events[0].revision === this.lastRevision + 1) this.append(events);
    else if (events[0].revision > this.lastRevision + 1) void this.catchUp();
  }

  /** Reads the log from our last revision onwards; serialised, repeated while new commits arrive. */
  async catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.again = true;
      return;
    }
    this.catchingUp = true;
    try {
      do {
        this.again = false;
        for (;;) {
          let rows: LoggedEvent[];
          try {
            rows = await this.store.readEvents({ after: this.lastRevision, limit: 2000 });
          } catch (e) {
            if (isEimError(e) && e.code === 'revision_compacted') {
              // We were asleep longer than retention: jump ahead; watchers behind will get 410 and relist.
              this.lastRevision = Number(e.details?.compactedRevision ?? this.lastRevision);
              this.ring = [];
              continue;
            }
            if (!this.closed) setTimeout(() => void this.catchUp(), 1000).unref();
            break;
          }
          if (rows.length === 0) break;
          const moved = this.append(rows);
          // Short page: caught up. No progress with a gap ahead: nothing to do until the log says more.
          if (rows.length < 2000 || (!moved && rows[0].revision > this.lastRevision + 1)) break;
        }
      } while (this.again);
    } finally {
      this.catchingUp = false;
    }
  }

  /** Appends the events that follow on from the last one; returns whether any did. */
  private append(events: LoggedEvent[]): boolean {
    const before = this.lastRevision;
    for (const e of events) {
      if (e.revision !== this.lastRevision + 1) continue;
      this.ring.push(e);
      this.lastRevision = e.revision;
    }
    if (this.ring.length > this.ringSize * 1.25) this.ring = this.ring.slice(this.ring.length - this.ringSize);
    if (this.lastRevision === before) return false;
    this.wake();
    return true;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }
}
