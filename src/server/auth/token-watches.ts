import type { Clock, EimError } from '../../api/index.ts';

/** setTimeout's longest delay; a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One stream's watch over its token. */
interface Watch {
  tokenId: string | undefined;
  /** When the token expires, in ms since the epoch (Infinity: never). */
  expiresAt: number;
  onInvalid: (e: EimError) => void;
  /** Its place in the expiry heap; -1 when not there. */
  slot: number;
  done: boolean;
}

/**
 * The long-lived streams watching their tokens (TokenService.guard), kept by what can end them: by
 * token id, so a revocation reaches its own streams and no other; and by expiry, in a heap with one
 * timer for the soonest. An open stream costs a small record and no timer or closure of its own
 * (10,000 agents keep 10,000 streams open for a day), and no work while its token stays valid.
 * @example const w = new TokenWatches(clock, expiredError); const stop = w.add(id, exp * 1000, end); … w.revoke(id, revokedError); stop()
 */
export class TokenWatches {
  private readonly byToken = new Map<string, Watch[]>();
  /** Watches of tokens that expire, soonest first (a binary heap). */
  private readonly heap: Watch[] = [];
  private timer: unknown;
  /** When the timer runs (Infinity: none set). */
  private timerAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly expired: () => EimError,
  ) {}

  /**
   * Watches a token until the function returned is called: `onInvalid` is called once, with
   * `revoke`'s error or with the expiry error when `expiresAt` (ms since the epoch) comes; at once
   * when it has passed.
   */
  add(tokenId: string | undefined, expiresAt: number, onInvalid: (e: EimError) => void): () => void {
    const w: Watch = { tokenId, expiresAt, onInvalid, slot: -1, done: false };
    if (tokenId !== undefined) {
      const list = this.byToken.get(tokenId);
      if (list) list.push(w);
      else this.byToken.set(tokenId, [w]);
    }
    if (expiresAt <= this.clock.now()) this.fire(w, this.expired());
    else if (Number.isFinite(expiresAt)) {
      this.push(w);
      if (w.slot === 0) this.arm();
    }
    return () => this.stop(w);
  }

  /** Ends the watches of a revoked token, each with a new `error()`. */
  revoke(tokenId: string, error: () => EimError): void {
    const list = this.byToken.get(tokenId);
    if (list) for (const w of [...list]) this.fire(w, error());
  }

  /** Watches held now. */
  get size(): number {
    let n = 0;
    for (const list of this.byToken.values()) n += list.length;
    return n;
  }

  private fire(w: Watch, e: EimError): void {
    if (w.done) return;
    this.stop(w);
    w.onInvalid(e);
  }

  private stop(w: Watch): void {
    if (w.done) return;
    w.done = true;
    if (w.tokenId !== undefined) {
      const list = this.byToken.get(w.tokenId)!;
      list.splice(list.indexOf(w), 1);
      if (list.length === 0) this.byToken.delete(w.tokenId);
    }
    // The timer may stay set for a watch gone: it finds nothing due and is set for the next.
    if (w.slot >= 0) this.removeAt(w.slot);
  }

  /** Sets the timer for the soonest expiry, unless one runs by then already. */
  private arm(): void {
    const next = this.heap[0];
    if (!next || this.timerAt <= next.expiresAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const now = this.clock.now();
    const delay = Math.min(Math.max(next.expiresAt - now, 0), MAX_TIMER_MS);
    this.timerAt = now + delay;
    this.timer = this.clock.setTimeout(() => this.due(), delay);
  }

  private due(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    while (this.heap.length > 0 && this.heap[0].expiresAt <= now) this.fire(this.heap[0], this.expired());
    this.arm();
  }

  private push(w: Watch): void {
    w.slot = this.heap.length;
    this.heap.push(w);
    this.up(w.slot);
  }

  private removeAt(i: number): void {
    const gone = this.heap[i];
    const last = this.heap.pop()!;
    gone.slot = -1;
    if (last === gone) return;
    this.place(last, i);
    this.up(i);
    this.down(last.slot);
  }

  private place(w: Watch, i: number): void {
    this.heap[i] = w;
    w.slot = i;
  }

  private up(i: number): void {
    const w = this.heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heap[parent].expiresAt <= w.expiresAt) break;
      this.place(this.heap[parent], i);
      i = parent;
    }
    this.place(w, i);
  }

  private down(i: number): void {
    const w = this.heap[i];
    const n = this.heap.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.heap[child + 1].expiresAt < this.heap[child].expiresAt) child++;
      if (this.heap[child].expiresAt >= w.expiresAt) break;
      this.place(this.heap[child], i);
      i = child;
    }
    this.place(w, i);
  }
}
