import pg from 'pg';

export interface AdvisoryLeaseOptions {
  /** The database whose servers compete. */
  url: string;
  /** The lock's two 32-bit keys: one pair per thing to lead. */
  keys: readonly [number, number];
  /** Becomes the holder: start what only one process may run. */
  acquired: () => Promise<void> | void;
  /** No longer the holder (its connection broke): stop it. Then it competes again. */
  lost: () => Promise<void> | void;
  /** How often a standby tries for the lock, and the holder checks its connection. @default 2000 */
  intervalMs?: number;
  /**
   * How long PostgreSQL keeps the session of a holder that has gone quiet (hung, or its machine
   * gone without closing the connection) before ending it and freeing the lock. A holder whose
   * check has no answer within intervalMs gives the lock up itself, before this. @default 3 × intervalMs
   */
  idleLimitMs?: number;
  onError?: (e: unknown) => void;
}

/**
 * Leadership among the server processes sharing one PostgreSQL database: a session-level advisory
 * lock held on a connection of its own. The holder keeps it as long as its session lives; when the
 * process dies or its connection breaks, PostgreSQL releases it and a standby takes it at its next
 * try. A session quiet for idleLimitMs is ended by PostgreSQL (`idle_session_timeout`): a hung
 * holder, or one whose machine vanished with its connection open, would otherwise keep the lock
 * for hours (until TCP keepalive gives up). A holder calls `lost` as soon as its connection ends,
 * or when its check has no answer within intervalMs, before competing again.
 * @example const lease = new AdvisoryLease({ url, keys: [0x65696d, 1], acquired: start, lost: stop }); lease.start(); … await lease.stop()
 */
export class AdvisoryLease {
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private holding = false;
  /** Attempts and drops, one at a time (a connection's end is handled between two attempts). */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: AdvisoryLeaseOptions) {}

  /** Whether this process holds the lock now. */
  get held(): boolean {
    return this.holding;
  }

  /** Tries at once, then every intervalMs; resolves after the first try. */
  async start(): Promise<void> {
    await this.tick();
  }

  /** Stops competing; a holder calls `lost` and releases the lock (closing its session). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain;
    if (this.holding) {
      this.holding = false;
      await this.o.lost();
    }
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }

  private tick(): Promise<void> {
    return this.serial(() => this.attempt()).finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.interval).unref();
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn);
    return this.chain;
  }

  private get interval(): number {
    return this.o.intervalMs ?? 2000;
  }

  private async attempt(): Promise<void> {
    try {
      if (this.holding) {
        await this.client!.query('select 1'); // the session (and so the lock) is still there
        return;
      }
      this.client ??= await this.connect();
      const r = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [this.o.keys[0], this.o.keys[1]]);
      if (r.rows[0]?.ok && !this.stopped) {
        this.holding = true;
        await this.o.acquired();
      }
    } catch (e) {
      this.o.onError?.(e);
      await this.drop();
    }
  }

  private async connect(): Promise<pg.Client> {
    // The check's own timeout: a holder that cannot confirm its session gives the lock up before
    // PostgreSQL's idle limit can hand it to another.
    const c = new pg.Client({ connectionString: this.o.url, query_timeout: this.interval });
    c.on('error', (e) => this.o.onError?.(e));
    // The session ended (terminated, the network cut it): the lock is gone now, not at the next check.
    c.on('end', () => void this.serial(async () => (this.client === c ? this.drop() : undefined)));
    await c.connect();
    try {
      await c.query(`set idle_session_timeout = ${Math.round(this.o.idleLimitMs ?? 3 * this.interval)}`);
    } catch (e) {
      // Before PostgreSQL 14 there is no such limit: a hung holder keeps the lock until its connection ends.
      this.o.onError?.(e);
    }
    return c;
  }

  /** The connection is gone: so is the lock. */
  private async drop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
    if (this.holding) {
      this.holding = false;
      await this.o.lost();
    }
  }
}
