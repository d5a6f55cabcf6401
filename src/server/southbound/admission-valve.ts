import { EimError } from '../../api/index.ts';

/**
 * Sheds load instead of queueing it: at most `maxInFlight` calls run at once (or, with weights,
 * calls weighing that much together: bytes, say; one call alone is always let in), and one more is
 * refused at once with 429 `rate_limited` and a `Retry-After` sized so that the callers turned
 * away come back at about the rate the server finishes calls (refusals in the last second over
 * completions in the last second, 1 to `maxRetryAfterSeconds`). A storm of agents then waits at
 * home with jittered backoff rather than timing out in the server's queue and retrying on top.
 * @example const valve = new AdmissionValve(256, 'enrolments'); const done = valve.enter(); try { … } finally { done() }
 */
export class AdmissionValve {
  private inFlight = 0;
  /** Completions and refusals in this second and the one before. */
  private done = [0, 0];
  private shed = [0, 0];
  private second = 0;

  constructor(
    readonly maxInFlight: number,
    /** Names what is limited, in the 429 message. */
    private readonly what: string,
    private readonly maxRetryAfterSeconds = 30,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be a whole number ≥ 1 (got ${maxInFlight})`);
  }

  /** Admits one call weighing `weight` (call the returned function when it ends) or throws `rate_limited`. */
  enter(weight = 1): () => void {
    this.tick();
    if (this.inFlight > 0 && this.inFlight + weight > this.maxInFlight) {
      this.shed[1]++;
      const shed = this.shed[0] + this.shed[1];
      const done = Math.max(1, this.done[0] + this.done[1]);
      const wait = Math.min(this.maxRetryAfterSeconds, Math.max(1, Math.ceil(shed / done)));
      throw new EimError('rate_limited', `the server is busy with ${this.inFlight} ${this.what} (its limit); retry after ${wait} s`, { details: { retryAfterSeconds: wait } });
    }
    this.inFlight += weight;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inFlight -= weight;
      this.tick();
      this.done[1]++;
    };
  }

  /** Calls running now (their weight, with weights). */
  get running(): number {
    return this.inFlight;
  }

  private tick(): void {
    const s = Math.floor(this.now() / 1000);
    if (s === this.second) return;
    const gap = s - this.second;
    this.done = gap === 1 ? [this.done[1], 0] : [0, 0];
    this.shed = gap === 1 ? [this.shed[1], 0] : [0, 0];
    this.second = s;
  }
}
