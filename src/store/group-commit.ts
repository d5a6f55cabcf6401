/** A queue at least this long is committed without first yielding to the event loop. */
const YIELD_BELOW = 16;

/** One queued unit of work and how to answer its caller. */
export interface Pending<T> {
  readonly run: T;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Funnels writes through one committer: while a commit is in flight, new writes queue up, and the
 * next commit takes all of them (up to `maxBatch`) at once. One fsync then covers many writes; a
 * lone writer waits one turn of the event loop, never a timer.
 *
 * @example const gc = new GroupCommit(async (batch) => { ...commit batch, answer each... }, 256)
 */
export class GroupCommit<T> {
  private readonly queue: Pending<T>[] = [];
  private running = false;
  /** The committer's loop while it runs. */
  private draining: Promise<void> | undefined;

  /**
   * @param commit commits a batch and answers its writes; the next batch is taken when it resolves
   * (a store that syncs apart from its commits resolves after the sync, so the writes of the meantime
   * make one batch).
   */
  constructor(
    private readonly commit: (batch: Pending<T>[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  submit(run: T): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      if (!this.running) this.draining = this.drain();
    });
  }

  /** Resolves once every write submitted so far has been committed (or refused) and the queue is empty. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Writes waiting for the committer. */
  get depth(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Let the event loop read what has arrived first. SQLite commits synchronously, so
        // without this yield each commit would run before the next request is even parsed and
        // every batch would hold one write. A queue that filled up during the last commit is a
        // batch already: committing it at once spares its writers a turn of a busy event loop.
        if (this.queue.length < YIELD_BELOW) await new Promise((r) => setImmediate(r));
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.commit(batch);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.running = false;
      this.draining = undefined;
    }
  }
}

