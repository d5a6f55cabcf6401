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
  onError?: (e: unknown) => void;
}

/**
 * Leadership among the server processes sharing one PostgreSQL database: a session-level advisory
 * lock held on a connection of its own. The holder keeps it as long as its session lives; when the
 * process dies or its connection breaks, PostgreSQL releases it and a standby takes it at its next
 * try. A holder that finds its connection broken calls `lost` before competing again.
 * @example const lease = new AdvisoryLease({ url, keys: [0x65696d, 1], acquired: start, lost: stop }); lease.start(); … await lease.stop()
 */
export class AdvisoryLease {
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private holding = false;
  private busy?: Promise<void>;

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
    await this.busy;
    if (this.holding) {
      this.holding = false;
      await this.o.lost();
    }
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }

  private tick(): Promise<void> {
    this.busy = this.attempt().finally(() => {
      this.busy = undefined;
      if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.intervalMs ?? 2000).unref();
    });
    return this.busy;
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
    const c = new pg.Client({ connectionString: this.o.url });
    // A broken session is found by the next check; until then the error must not crash the process.
    c.on('error', (e) => this.o.onError?.(e));
    await c.connect();
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
