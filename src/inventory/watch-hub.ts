import { isEimError } from '../api/index.ts';
import type { LoggedEvent, Store } from '../store/index.ts';

export interface WatchHubOptions {
  /** Recent events kept in memory for watchers; older ones are read from the log. @default 20000 */
  ringSize?: number;
  /**
   * Bytes of event JSON kept in memory (besides `ringSize`): the oldest go first, so a few huge
   * events cannot fill the heap. @default 67108864 (64 MiB)
   */
  ringBytes?: number;
  /** Bytes of event JSON one catch-up read takes from the log. @default 4194304 (4 MiB) */
  readBytes?: number;
  /** @internal For bench:inventory's baseline only: no byte budget (and no byte counting). @default false */
  unbounded?: boolean;
}

/** The defaults of WatchHubOptions. */
export const WATCH_HUB_DEFAULTS = Object.freeze({ ringSize: 20_000, ringBytes: 64 * 1024 * 1024, readBytes: 4 * 1024 * 1024 });

/**
 * The in-memory tail of the event log, in revision order with no gaps. Local commits are appended
 * directly when they follow on; anything else (another process's commit, a gap) is read from the
 * log, which is the truth. Watchers keep a cursor and read from here or, when they are further
 * behind than the ring reaches, from the log.
 */
export class WatchHub {
  /** The events held are ring[head…]; the front is cut off now and then, not shifted per event. */
  private ring: LoggedEvent[] = [];
  private head = 0;
  private heldBytes = 0;
  private lastRevision = 0;
  private waiters = new Set<Waiter>();
  private catchingUp = false;
  private again = false;
  private readonly ringSize: number;
  private readonly ringBytes: number;
  private readonly readBytes: number;
  private readonly countBytes: boolean;
  private closed = false;

  constructor(
    private readonly store: Store,
    options: WatchHubOptions = {},
  ) {
    this.ringSize = options.ringSize ?? WATCH_HUB_DEFAULTS.ringSize;
    this.ringBytes = options.ringBytes ?? WATCH_HUB_DEFAULTS.ringBytes;
    this.readBytes = options.readBytes ?? WATCH_HUB_DEFAULTS.readBytes;
    this.countBytes = !options.unbounded;
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
    return this.head < this.ring.length ? this.ring[this.head].revision - 1 : this.lastRevision;
  }

  /** Events and bytes of event JSON (counted as characters) held in memory now. */
  get held(): { events: number; bytes: number } {
    return { events: this.ring.length - this.head, bytes: this.heldBytes };
  }

  /**
   * Events after `position` from memory (at most `max`, and no more than `maxBytes` of JSON
   * beyond the first), or undefined when `position` is older than the ring and the caller must
   * read the log.
   */
  read(position: number, max: number, maxBytes = Number.POSITIVE_INFINITY): LoggedEvent[] | undefined {
    if (position < this.ringFloor) return undefined;
    const start = this.head === this.ring.length ? this.ring.length : this.head + position - this.ring[this.head].revision + 1;
    let end = Math.min(this.ring.length, start + max);
    if (maxBytes !== Number.POSITIVE_INFINITY) {
      let bytes = 0;
      for (let i = start; i < end; i++) {
        bytes += this.ring[i].json.length;
        if (i > start && bytes > maxBytes) {
          end = i;
          break;
        }
      }
    }
    return this.ring.slice(start, end);
  }

  /**
   * Resolves on the next appended event, or after `ms`. Returns false on timeout. With `interested`,
   * only an event it accepts wakes the caller (a watch of one project or some kinds sleeps through
   * the others' commits, which it would only have skipped): events it does not accept may then have
   * been appended when it returns false. With `position` too (the caller's cursor), it is also woken
   * once that falls into the older half of the ring, so that it reads on from memory, not from the log.
   */
  waitForChange(ms: number, signal?: AbortSignal, interested?: (e: LoggedEvent) => boolean, position?: number): Promise<boolean> {
    return new Promise((resolve) => {
      // Aborted already (while its stream was yielding, say): an abort event will not come again.
      if (this.closed || signal?.aborted) return resolve(false);
      let done = false;
      const finish = (v: boolean) => {
        if (done) return;
        done = true;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiter: Waiter = { wake: () => finish(true), interested, position };
      this.waiters.add(waiter);
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
          let page: { events: LoggedEvent[]; more: boolean };
          try {
            page = await this.store.readEventPage({ after: this.lastRevision, limit: 2000, maxBytes: this.readBytes });
          } catch (e) {
            if (isEimError(e) && e.code === 'revision_compacted') {
              // We were asleep longer than retention: jump ahead; watchers behind will get 410 and relist.
              this.lastRevision = Number(e.details?.compactedRevision ?? this.lastRevision);
              this.ring = [];
              this.head = 0;
              this.heldBytes = 0;
              // Every waiter's position has left memory: woken now, each reads the log and learns
              // of its 410 (a filtered one would otherwise sleep to its timeout if nothing follows).
              this.wake();
              continue;
            }
            if (!this.closed) setTimeout(() => void this.catchUp(), 1000).unref();
            break;
          }
          const rows = page.events;
          if (rows.length === 0) break;
          const moved = this.append(rows);
          // The end of the log: caught up. No progress with a gap ahead: nothing to do until the log says more.
          if (!page.more || (!moved && rows[0].revision > this.lastRevision + 1)) break;
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
      if (this.countBytes) this.heldBytes += e.json.length;
      this.lastRevision = e.revision;
    }
    while (this.head < this.ring.length && (this.ring.length - this.head > this.ringSize || this.heldBytes > this.ringBytes)) {
      if (this.countBytes) this.heldBytes -= this.ring[this.head].json.length;
      this.ring[this.head++] = undefined as unknown as LoggedEvent; // let it be collected now
    }
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
    if (this.lastRevision === before) return false;
    this.wake(events.length === this.lastRevision - before ? events : events.filter((e) => e.revision > before && e.revision <= this.lastRevision));
    return true;
  }

  /** Wakes the waiters (those with an interest only when one of `appended` is theirs; all of them without `appended`). */
  private wake(appended?: readonly LoggedEvent[]): void {
    const w = this.waiters;
    this.waiters = new Set();
    const floor = this.ringFloor;
    const middle = floor + (this.lastRevision - floor) / 2;
    for (const waiter of w) {
      const keepsUp = waiter.position === undefined || waiter.position >= middle;
      if (appended && waiter.interested && keepsUp && !appended.some(waiter.interested)) this.waiters.add(waiter);
      else waiter.wake();
    }
  }
}

interface Waiter {
  wake(): void;
  interested?: (e: LoggedEvent) => boolean;
  /** The waiter's cursor: it is woken when the ring's older half reaches it. */
  position?: number;
}
